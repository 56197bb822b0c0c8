// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE (surprising): a bitwise CRC32 over 32 packet bytes
 * (outer loop kept with unroll(disable), inner 8 steps unrolled) followed
 * by an FNV hash with a data-dependent loop (at most 31 iterations) and a
 * map update keyed by the result.  The CRC part alone is accepted, and so
 * is the same program with a rotate-xor instead of the CRC
 * (loops_bounded.c), but this combination makes Linux 6.18 stop with "BPF
 * program is too large. Processed 1000001 insn" (E2BIG) while its log shows
 * only the first ~30 loop iterations.  Kept as a regression
 * sample for verifier state-pruning work.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define HASH_BYTES 32

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} prefix_hashes SEC(".maps");

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
	__u8 buf[HASH_BYTES];
	__u32 crc = ~0U, fnv = 2166136261U, i, n;
	__u64 *cnt, one = 1;

	if (bpf_skb_load_bytes(skb, 0, buf, sizeof(buf)) < 0)
		return 0;

#pragma clang loop unroll(disable)
	for (i = 0; i < HASH_BYTES; i++)
		crc = crc32_byte(crc, buf[i]);

#pragma unroll
	for (i = 0; i < 8; i++) {
		fnv ^= buf[i];
		fnv *= 16777619U;
	}

	n = buf[0] & 0x1f;
	for (i = 0; i < n && i < HASH_BYTES; i++)
		fnv = (fnv ^ buf[i & (HASH_BYTES - 1)]) * 16777619U;

	crc = ~crc ^ fnv;
	cnt = bpf_map_lookup_elem(&prefix_hashes, &crc);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&prefix_hashes, &crc, &one, BPF_ANY);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
