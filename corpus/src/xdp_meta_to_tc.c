// SPDX-License-Identifier: GPL-2.0
/* XDP -> tc metadata hand-off: the XDP program classifies the frame and
 * stores a mark in the metadata area in front of the packet using
 * bpf_xdp_adjust_meta(); the tc ingress program reads it back through
 * __sk_buff->data_meta and sets skb->mark / skb->priority.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct meta_info {
	__u32 mark;
	__u32 prio;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);		/* ethertype */
	__type(value, struct meta_info);
} class_by_proto SEC(".maps");

SEC("xdp")
int xdp_store_meta(struct xdp_md *ctx)
{
	struct meta_info *meta, *cls;
	struct ethhdr *eth;
	void *data, *data_end;
	__u16 proto;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return XDP_PASS;	/* driver without metadata support */

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data)
		return XDP_ABORTED;

	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	proto = bpf_ntohs(eth->h_proto);
	cls = bpf_map_lookup_elem(&class_by_proto, &proto);
	meta->mark = cls ? cls->mark : 0;
	meta->prio = cls ? cls->prio : 0;
	return XDP_PASS;
}

SEC("tc")
int tc_read_meta(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct meta_info *meta = (void *)(long)skb->data_meta;

	if ((void *)(meta + 1) > data)
		return TC_ACT_OK;	/* no metadata */
	skb->mark = meta->mark;
	skb->priority = meta->prio;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
