// SPDX-License-Identifier: GPL-2.0
/* A legacy map record longer than iproute2's struct bpf_elf_map, with a
 * non-zero field past it (refused). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct long_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
	unsigned int id, pinning, inner_id, inner_idx, extra;
};

struct long_def SEC("maps") long_map = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 1,
	.extra = 7,
};

SEC("socket")
int prog(struct __sk_buff *skb)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&long_map, &k) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
