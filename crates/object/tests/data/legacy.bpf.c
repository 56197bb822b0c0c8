// SPDX-License-Identifier: GPL-2.0
/* The legacy "maps" section of libbpf < 1.0: struct bpf_map_def records,
 * one symbol each, referenced by lddw relocations. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 128,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 2,
};

SEC("socket")
int legacy(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u32 *v = bpf_map_lookup_elem(&legacy_array, &k);

	if (!v)
		return 0;
	return bpf_map_lookup_elem(&legacy_hash, v) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
