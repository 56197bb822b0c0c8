// SPDX-License-Identifier: GPL-2.0
/* A map pinned by name, and a legacy iproute2-style "version" section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_lru SEC(".maps");

SEC("cgroup_skb/ingress")
int ingress(struct __sk_buff *skb)
{
	__u32 k = skb->ifindex;

	return bpf_map_lookup_elem(&pinned_lru, &k) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
__u32 VERSION SEC("version") = 0x060600;
