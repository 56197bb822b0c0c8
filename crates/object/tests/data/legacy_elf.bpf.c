// SPDX-License-Identifier: GPL-2.0
/* iproute2's struct bpf_elf_map: longer records than struct bpf_map_def,
 * with iproute2's pinning (PINNING) and map-in-map references (INNER_ID,
 * which oxbpf does not support). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

#ifndef PINNING
#define PINNING 0
#endif
#ifndef INNER_ID
#define INNER_ID 0
#endif

struct bpf_elf_map SEC("maps") elf_map = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = 4,
	.size_value = 4,
	.max_elem = 16,
	.pinning = PINNING,
	.inner_id = INNER_ID,
};

SEC("classifier")
int cls(struct __sk_buff *skb)
{
	__u32 k = 1;
	__u32 *v = bpf_map_lookup_elem(&elf_map, &k);

	return v ? *v : 0;
}

char LICENSE[] SEC("license") = "GPL";
