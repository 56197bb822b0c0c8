// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE (surprising): a bitwise CRC32 over 32 packet bytes
 * (outer loop kept with unroll(disable), inner 8 steps unrolled) followed
 * by a data-dependent FNV loop with at most 31 iterations.  Each loop alone
 * verifies quickly (the CRC part alone is accepted), but together Linux
 * 6.18 stops with "BPF program is too large. Processed 1000001 insn" (E2BIG):
 * every exit of the second loop is a separate path and none prunes against
 * the others because the hash registers differ.  Kept as a regression
 * sample for verifier state-pruning work.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define LEN 32

__u32 last_crc;

static __always_inline __u32 crc32_byte(__u32 crc, __u8 b)
{
	int k;

	crc ^= b;
#pragma unroll
	for (k = 0; k < 8; k++)
		crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1));
	return crc;
}

SEC("socket")
int crc_filter(struct __sk_buff *skb)
{
	__u8 buf[LEN];
	__u32 crc = ~0U, fnv = 2166136261U, i, n;

	if (bpf_skb_load_bytes(skb, 0, buf, sizeof(buf)) < 0)
		return 0;
#pragma clang loop unroll(disable)
	for (i = 0; i < LEN; i++)
		crc = crc32_byte(crc, buf[i]);
	n = buf[0] & 0x1f;
	for (i = 0; i < n && i < LEN; i++)
		fnv = (fnv ^ buf[i]) * 16777619U;
	last_crc = ~crc ^ fnv;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
