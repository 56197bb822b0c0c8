// SPDX-License-Identifier: GPL-2.0
/* tc VLAN access port: on egress tag untagged frames with the port's VLAN
 * (bpf_skb_vlan_push), on ingress strip the tag (bpf_skb_vlan_pop) when it
 * matches, drop mismatching tags.  Uses the skb->vlan_present/vlan_tci
 * context fields the kernel fills from the offloaded tag.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_8021Q 0x8100

struct port_cfg {
	__u16 vid;
	__u16 pcp;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);		/* ifindex */
	__type(value, struct port_cfg);
} port_vlan SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} vlan_counters SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&vlan_counters, &i);

	if (c)
		*c += 1;
}

SEC("tc")
int tc_vlan_egress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct port_cfg *cfg = bpf_map_lookup_elem(&port_vlan, &ifindex);
	__u16 tci;

	if (!cfg)
		return TC_ACT_OK;
	if (skb->vlan_present)
		return TC_ACT_OK;	/* already tagged by the stack */
	tci = (cfg->pcp << 13) | (cfg->vid & 0x0fff);
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), tci)) {
		bump(3);
		return TC_ACT_SHOT;
	}
	bump(0);
	return TC_ACT_OK;
}

SEC("tc")
int tc_vlan_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct port_cfg *cfg = bpf_map_lookup_elem(&port_vlan, &ifindex);

	if (!cfg || !skb->vlan_present)
		return TC_ACT_OK;
	if ((skb->vlan_tci & 0x0fff) != cfg->vid) {
		bump(2);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_vlan_pop(skb)) {
		bump(3);
		return TC_ACT_SHOT;
	}
	bump(1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
