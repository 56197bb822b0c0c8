// SPDX-License-Identifier: GPL-2.0
/* XDP L2 forwarding with the three redirect map flavours: DEVMAP for a
 * port table, DEVMAP_HASH keyed by ifindex with a bpf_devmap_val value
 * (so the map can carry a second program fd), and a broadcast to every
 * port except the ingress one (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct mac_key {
	__u8 addr[ETH_ALEN];
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} ports_by_ifindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct mac_key);
	__type(value, __u32);		/* learned egress ifindex */
} fdb SEC(".maps");

static __always_inline int is_multicast(const __u8 *mac)
{
	return mac[0] & 1;
}

SEC("xdp")
int xdp_l2_switch(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct mac_key src = {}, dst = {};
	__u32 ingress = ctx->ingress_ifindex;
	__u32 *egress;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;

	/* Learn the source MAC. */
	__builtin_memcpy(src.addr, eth->h_source, ETH_ALEN);
	egress = bpf_map_lookup_elem(&fdb, &src);
	if (!egress || *egress != ingress)
		bpf_map_update_elem(&fdb, &src, &ingress, BPF_ANY);

	if (is_multicast(eth->h_dest))
		return bpf_redirect_map(&ports, 0,
					BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);

	__builtin_memcpy(dst.addr, eth->h_dest, ETH_ALEN);
	egress = bpf_map_lookup_elem(&fdb, &dst);
	if (!egress)
		return bpf_redirect_map(&ports, 0,
					BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (*egress == ingress)
		return XDP_DROP;
	/* Lower bits of flags are the action used when the key is missing. */
	return bpf_redirect_map(&ports_by_ifindex, *egress, XDP_PASS);
}

/* Program run by the devmap on egress (SEC("xdp/devmap")). */
SEC("xdp/devmap")
int xdp_egress_mark(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (ctx->egress_ifindex == ctx->ingress_ifindex)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
