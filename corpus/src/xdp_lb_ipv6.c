// SPDX-License-Identifier: GPL-2.0
/* XDP IPv6 forwarder: walks IPv6 extension headers with a bounded loop to
 * find the transport header, hashes the 5-tuple and redirects to one of
 * several egress interfaces through a DEVMAP.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_EXT_HDRS 6
#define NUM_PORTS 8

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, NUM_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct in6_addr);
	__type(value, __u32);		/* number of usable ports */
} prefixes SEC(".maps");

static __always_inline int skip_ext_hdrs(void **cursor, void *data_end, __u8 *nexthdr)
{
	int i;

	for (i = 0; i < MAX_EXT_HDRS; i++) {
		struct ipv6_opt_hdr *opt = *cursor;

		switch (*nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if ((void *)(opt + 1) > data_end)
				return -1;
			*nexthdr = opt->nexthdr;
			*cursor += (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_FRAGMENT:
			if ((void *)(opt + 1) > data_end)
				return -1;
			*nexthdr = opt->nexthdr;
			*cursor += 8;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

static __always_inline __u32 jhash_mix(__u32 a, __u32 b, __u32 c)
{
	a -= c; a ^= (c << 4) | (c >> 28); c += b;
	b -= a; b ^= (a << 6) | (a >> 26); a += c;
	c -= b; c ^= (b << 8) | (b >> 24); b += a;
	return c;
}

SEC("xdp")
int xdp_fwd_ipv6(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	void *cursor;
	__u8 nexthdr;
	__u32 hash, *nports, port;
	__u16 sport = 0, dport = 0;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_DROP;
	if (ip6->hop_limit <= 1)
		return XDP_PASS;	/* let the stack send the ICMPv6 error */

	cursor = ip6 + 1;
	nexthdr = ip6->nexthdr;
	if (skip_ext_hdrs(&cursor, data_end, &nexthdr) < 0)
		return XDP_DROP;

	if (nexthdr == IPPROTO_TCP) {
		struct tcphdr *th = cursor;

		if ((void *)(th + 1) > data_end)
			return XDP_DROP;
		sport = th->source;
		dport = th->dest;
	} else if (nexthdr == IPPROTO_UDP) {
		struct udphdr *uh = cursor;

		if ((void *)(uh + 1) > data_end)
			return XDP_DROP;
		sport = uh->source;
		dport = uh->dest;
	}

	nports = bpf_map_lookup_elem(&prefixes, &ip6->daddr);
	if (!nports || *nports == 0)
		return XDP_PASS;

	hash = jhash_mix(ip6->saddr.in6_u.u6_addr32[3] ^ ip6->daddr.in6_u.u6_addr32[3],
			 ((__u32)sport << 16) | dport, nexthdr);
	port = hash % (*nports < NUM_PORTS ? *nports : NUM_PORTS);

	ip6->hop_limit--;
	return bpf_redirect_map(&tx_ports, port, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
