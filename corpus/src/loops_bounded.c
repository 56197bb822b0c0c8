// SPDX-License-Identifier: GPL-2.0
/* Bounded loops in their three common shapes: fully unrolled with
 * "#pragma unroll", explicitly kept as a loop with
 * "#pragma clang loop unroll(disable)" (verified as a real back-edge since
 * 5.3), and a data-dependent loop with a constant upper bound.  Computes a
 * rotate-xor hash and a FNV-1a hash over the start of the packet in a
 * socket filter, and walks TCP options in a tc program.
 * (A bitwise CRC32 in the unroll(disable) loop makes 6.18 give up with
 * "BPF program is too large": see reject_complexity_crc32.c.)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define HASH_BYTES 32
#define MAX_OPTS 10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} prefix_hashes SEC(".maps");

static __always_inline __u32 rotxor(__u32 h, __u8 b)
{
	return ((h << 5) | (h >> 27)) ^ b;
}

SEC("socket")
int loop_hashes(struct __sk_buff *skb)
{
	__u8 buf[HASH_BYTES];
	__u32 crc = ~0U, fnv = 2166136261U, i, n;
	__u64 *cnt, one = 1;

	if (bpf_skb_load_bytes(skb, 0, buf, sizeof(buf)) < 0)
		return 0;

	/* Kept as a loop: the verifier walks the back-edge. */
#pragma clang loop unroll(disable)
	for (i = 0; i < HASH_BYTES; i++)
		crc = rotxor(crc, buf[i]);

	/* Fully unrolled. */
#pragma unroll
	for (i = 0; i < 8; i++) {
		fnv ^= buf[i];
		fnv *= 16777619U;
	}

	/* Data-dependent trip count, constant bound. */
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

/* TCP option walk: the classic "for (i = 0; i < MAX; i++)" over a
 * variable-length list.  A scalar offset plus bpf_skb_load_bytes() keeps
 * the verifier's state count small (packet pointers with a different
 * offset on every path do not prune). */
SEC("tc")
int loop_tcp_opts(struct __sk_buff *skb)
{
	__u32 off = 14 + 20 + 20, end = off + 40;	/* eth+ip+tcp, max options */
	__u32 mss = 0;
	__u8 kl[2], val[2];
	int i;

	for (i = 0; i < MAX_OPTS; i++) {
		if (off >= end || bpf_skb_load_bytes(skb, off, kl, 1))
			break;
		if (kl[0] == 0)		/* EOL */
			break;
		if (kl[0] == 1) {	/* NOP */
			off++;
			continue;
		}
		if (bpf_skb_load_bytes(skb, off, kl, 2) || kl[1] < 2)
			break;
		if (kl[0] == 2 && kl[1] == 4 && !bpf_skb_load_bytes(skb, off + 2, val, 2))
			mss = (val[0] << 8) | val[1];
		off += kl[1];
	}
	skb->cb[0] = mss;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
