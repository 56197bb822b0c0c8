// SPDX-License-Identifier: GPL-2.0
/* XDP VLAN handling: parses up to two stacked VLAN tags (802.1ad QinQ and
 * 802.1Q), drops VLANs that are not allowed, and strips the outer tag for
 * allowed VLANs by moving the MAC addresses forward and shrinking the head.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define VLAN_VID_MASK 0x0fff
#define VLAN_MAX_DEPTH 2

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

enum vlan_action {
	VLAN_DROP = 0,
	VLAN_KEEP = 1,
	VLAN_STRIP = 2,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);	/* enum vlan_action */
} vlan_policy SEC(".maps");

struct collect_vlans {
	__u16 id[VLAN_MAX_DEPTH];
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline int parse_ethhdr_vlan(void **cursor, void *data_end,
					      struct collect_vlans *vlans)
{
	struct ethhdr *eth = *cursor;
	struct vlan_hdr *vlh;
	__u16 h_proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	*cursor = eth + 1;
	vlh = *cursor;
	h_proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!proto_is_vlan(h_proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			break;
		h_proto = vlh->h_vlan_encapsulated_proto;
		if (vlans)
			vlans->id[i] = bpf_ntohs(vlh->h_vlan_TCI) & VLAN_VID_MASK;
		vlh++;
	}
	*cursor = vlh;
	return h_proto;
}

static __always_inline int vlan_tag_pop(struct xdp_md *ctx, struct ethhdr *eth)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth_cpy;
	struct vlan_hdr *vlh;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (!proto_is_vlan(eth->h_proto))
		return -1;
	vlh = (void *)(eth + 1);
	if ((void *)(vlh + 1) > data_end)
		return -1;

	__builtin_memcpy(&eth_cpy, eth, sizeof(eth_cpy));
	eth_cpy.h_proto = vlh->h_vlan_encapsulated_proto;

	if (bpf_xdp_adjust_head(ctx, (int)sizeof(*vlh)))
		return -1;

	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, &eth_cpy, sizeof(*eth));
	return 0;
}

SEC("xdp")
int xdp_vlan_filter(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct collect_vlans vlans = {};
	void *cursor = data;
	__u32 vid, *action;
	int proto;

	proto = parse_ethhdr_vlan(&cursor, data_end, &vlans);
	if (proto < 0)
		return XDP_ABORTED;
	if (!vlans.id[0] && cursor == data + sizeof(struct ethhdr))
		return XDP_PASS;	/* untagged */

	vid = vlans.id[0];
	action = bpf_map_lookup_elem(&vlan_policy, &vid);
	if (!action || *action == VLAN_DROP)
		return XDP_DROP;
	if (*action == VLAN_STRIP && vlan_tag_pop(ctx, data) < 0)
		return XDP_ABORTED;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
