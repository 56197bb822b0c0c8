// SPDX-License-Identifier: GPL-2.0
/* XDP layer-4 load balancer for IPv4 (direct server return style).
 *
 * Parses Ethernet/IPv4/TCP|UDP, looks the virtual IP:port up in a service
 * table, picks a backend by flow hash, rewrites the destination IP and MAC
 * and bounces the frame back out (XDP_TX).  The IPv4 header checksum and the
 * L4 checksum are updated incrementally (RFC 1624).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_SERVICES 64
#define MAX_BACKENDS 256
#define BACKENDS_PER_SERVICE 16

struct vip_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct vip_meta {
	__u32 first_backend;
	__u32 num_backends;
	__u32 flags;
};

struct backend {
	__be32 addr;
	__u8 mac[ETH_ALEN];
	__u16 weight;
};

struct lb_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SERVICES);
	__type(key, struct vip_key);
	__type(value, struct vip_meta);
} vip_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct lb_stats);
} stats SEC(".maps");

static __always_inline __u16 csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/* Incremental update of a 16-bit one's complement checksum when a 32-bit
 * field changes from 'from' to 'to'. */
static __always_inline void csum_replace4(__u16 *sum, __be32 from, __be32 to)
{
	__u32 csum = (__u16)~(*sum);

	csum += (__u16)~from;
	csum += (__u16)~(from >> 16);
	csum += (__u16)to;
	csum += (__u16)(to >> 16);
	*sum = csum_fold(csum);
}

static __always_inline __u32 flow_hash(__be32 saddr, __be16 sport, __be16 dport)
{
	__u32 h = saddr ^ ((__u32)sport << 16 | dport);

	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

SEC("xdp")
int xdp_lb_ipv4(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct vip_key key = {};
	struct vip_meta *vip;
	struct backend *be;
	struct lb_stats *st;
	struct iphdr *iph;
	__be16 sport, dport;
	__u16 *l4_csum = NULL;
	__u32 idx, svc;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	if (iph->ihl != 5)	/* no IP options on the fast path */
		return XDP_PASS;
	if (iph->frag_off & bpf_htons(0x3fff))
		return XDP_PASS;

	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(iph + 1);

		if ((void *)(th + 1) > data_end)
			return XDP_DROP;
		sport = th->source;
		dport = th->dest;
		l4_csum = &th->check;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = (void *)(iph + 1);

		if ((void *)(uh + 1) > data_end)
			return XDP_DROP;
		sport = uh->source;
		dport = uh->dest;
		if (uh->check)
			l4_csum = &uh->check;
	} else {
		return XDP_PASS;
	}

	key.addr = iph->daddr;
	key.port = dport;
	key.proto = iph->protocol;
	vip = bpf_map_lookup_elem(&vip_map, &key);
	if (!vip)
		return XDP_PASS;
	if (vip->num_backends == 0 || vip->num_backends > BACKENDS_PER_SERVICE)
		return XDP_DROP;

	idx = vip->first_backend +
	      flow_hash(iph->saddr, sport, dport) % vip->num_backends;
	be = bpf_map_lookup_elem(&backends, &idx);
	if (!be)
		return XDP_ABORTED;

	svc = vip->flags & (MAX_SERVICES - 1);
	st = bpf_map_lookup_elem(&stats, &svc);
	if (st) {
		st->packets++;
		st->bytes += data_end - data;
	}

	/* L4 checksum covers the pseudo header, so it changes with daddr. */
	if (l4_csum)
		csum_replace4(l4_csum, iph->daddr, be->addr);
	csum_replace4(&iph->check, iph->daddr, be->addr);
	iph->daddr = be->addr;

	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
