// SPDX-License-Identifier: GPL-2.0
/* Old-school cls_bpf classifier (SEC("classifier"), as used with
 * "tc filter add ... bpf da obj x.o sec classifier"): sets skb->tc_classid
 * from a DSCP table, copies bytes out with bpf_skb_load_bytes() instead of
 * direct packet access, and redirects mirrored traffic with bpf_clone_redirect.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef TC_H_MAKE
#define TC_H_MAKE(maj, min) (((maj) & 0xFFFF0000U) | ((min) & 0x0000FFFFU))
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);		/* DSCP */
	__type(value, __u32);		/* minor class id */
} dscp_to_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);		/* mirror ifindex, 0 = off */
} mirror SEC(".maps");

SEC("classifier")
int cls_dscp(struct __sk_buff *skb)
{
	__u32 zero = 0, dscp, *minor, *mirror_if;
	__u16 proto;
	__u8 tos;

	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto)))
		return TC_ACT_OK;
	if (proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, tos), &tos, 1))
		return TC_ACT_OK;

	dscp = tos >> 2;
	minor = bpf_map_lookup_elem(&dscp_to_class, &dscp);
	if (minor && *minor)
		skb->tc_classid = TC_H_MAKE(1 << 16, *minor);

	mirror_if = bpf_map_lookup_elem(&mirror, &zero);
	if (mirror_if && *mirror_if)
		bpf_clone_redirect(skb, *mirror_if, 0);

	skb->tc_index = dscp;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
