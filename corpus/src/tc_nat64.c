// SPDX-License-Identifier: GPL-2.0
/* tc stateless NAT64 (SIIT) egress translator: IPv4 packets towards the
 * translation prefix are turned into IPv6 with bpf_skb_change_proto(),
 * the new IPv6 header is written with bpf_skb_store_bytes() and the L4
 * checksum is fixed for the new pseudo header with bpf_csum_diff().
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 64:ff9b::/96 well-known prefix */
const volatile __u32 pref64[3] = { bpf_htonl(0x0064ff9b), 0, 0 };

__u64 translated = 0;
__u64 untranslatable = 0;

static __always_inline void v4_to_v6(__u32 v4, struct in6_addr *v6)
{
	v6->in6_u.u6_addr32[0] = pref64[0];
	v6->in6_u.u6_addr32[1] = pref64[1];
	v6->in6_u.u6_addr32[2] = pref64[2];
	v6->in6_u.u6_addr32[3] = v4;
}

SEC("tc")
int tc_nat64_egress(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	struct ipv6hdr ip6 = {};
	__be16 proto6 = bpf_htons(ETH_P_IPV6);
	__u32 csum_off;
	__s64 diff;
	__be32 old[2];

	if ((void *)(iph + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (iph->ihl != 5 || (iph->frag_off & bpf_htons(0x3fff))) {
		__sync_fetch_and_add(&untranslatable, 1);
		return TC_ACT_OK;
	}

	switch (iph->protocol) {
	case IPPROTO_TCP:
		csum_off = ETH_HLEN + sizeof(struct ipv6hdr) + offsetof(struct tcphdr, check);
		break;
	case IPPROTO_UDP:
		csum_off = ETH_HLEN + sizeof(struct ipv6hdr) + offsetof(struct udphdr, check);
		break;
	default:
		__sync_fetch_and_add(&untranslatable, 1);
		return TC_ACT_OK;
	}

	ip6.version = 6;
	ip6.priority = iph->tos >> 4;
	ip6.flow_lbl[0] = (iph->tos & 0xf) << 4;
	ip6.payload_len = bpf_htons(bpf_ntohs(iph->tot_len) - sizeof(*iph));
	ip6.nexthdr = iph->protocol;
	ip6.hop_limit = iph->ttl;
	v4_to_v6(iph->saddr, &ip6.saddr);
	v4_to_v6(iph->daddr, &ip6.daddr);
	old[0] = iph->saddr;
	old[1] = iph->daddr;

	/* Pseudo-header delta: remove v4 addresses, add v6 addresses. */
	diff = bpf_csum_diff(old, sizeof(old), (__be32 *)&ip6.saddr,
			     2 * sizeof(struct in6_addr), 0);
	if (diff < 0)
		return TC_ACT_SHOT;

	if (bpf_skb_change_proto(skb, proto6, 0))
		return TC_ACT_SHOT;
	/* skb data moved: reload and rewrite the ethertype + header. */
	if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto6,
				sizeof(proto6), 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), 0))
		return TC_ACT_SHOT;
	if (bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR))
		return TC_ACT_SHOT;

	__sync_fetch_and_add(&translated, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
