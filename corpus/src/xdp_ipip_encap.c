// SPDX-License-Identifier: GPL-2.0
/* XDP IPIP encapsulation (Katran-style): grow the head with
 * bpf_xdp_adjust_head(), write a fresh outer Ethernet + IPv4 header and
 * compute the outer IPv4 checksum with a bounded, unrolled loop.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct tunnel_cfg {
	__be32 local;
	__be32 remote;
	__u8 src_mac[ETH_ALEN];
	__u8 dst_mac[ETH_ALEN];
	__u8 ttl;
	__u8 tos;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __be32);		/* inner destination */
	__type(value, struct tunnel_cfg);
} tunnels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} encap_stats SEC(".maps");

static __always_inline __u16 ipv4_csum(struct iphdr *iph)
{
	__u16 *p = (__u16 *)iph;
	__u32 sum = 0;
	int i;

	iph->check = 0;
#pragma unroll
	for (i = 0; i < (int)sizeof(*iph) / 2; i++)
		sum += p[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&encap_stats, &idx);

	if (v)
		*v += 1;
}

SEC("xdp")
int xdp_ipip_encap(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data, *new_eth;
	struct iphdr *inner, *outer;
	struct tunnel_cfg *cfg;
	__u16 inner_len;
	__be32 daddr;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	inner = (void *)(eth + 1);
	if ((void *)(inner + 1) > data_end)
		return XDP_DROP;

	daddr = inner->daddr;
	inner_len = bpf_ntohs(inner->tot_len);
	cfg = bpf_map_lookup_elem(&tunnels, &daddr);
	if (!cfg)
		return XDP_PASS;

	/* Make room for the outer IPv4 header in front of the frame. */
	if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr))) {
		count(1);
		return XDP_DROP;
	}

	/* Every pointer derived from the old data is invalid now. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	new_eth = data;
	outer = data + sizeof(struct ethhdr);
	if ((void *)(outer + 1) > data_end)
		return XDP_DROP;

	__builtin_memcpy(new_eth->h_source, cfg->src_mac, ETH_ALEN);
	__builtin_memcpy(new_eth->h_dest, cfg->dst_mac, ETH_ALEN);
	new_eth->h_proto = bpf_htons(ETH_P_IP);

	outer->version = 4;
	outer->ihl = 5;
	outer->tos = cfg->tos;
	outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000);	/* DF */
	outer->ttl = cfg->ttl ? cfg->ttl : 64;
	outer->protocol = IPPROTO_IPIP;
	outer->saddr = cfg->local;
	outer->daddr = cfg->remote;
	outer->check = ipv4_csum(outer);

	count(0);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
