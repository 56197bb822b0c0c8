// SPDX-License-Identifier: GPL-2.0
/* tc ingress DNAT: rewrites destination address and port of IPv4 TCP/UDP
 * packets with bpf_skb_store_bytes() and fixes the checksums with
 * bpf_l3_csum_replace() / bpf_l4_csum_replace() (BPF_F_PSEUDO_HDR for the
 * address part of the L4 checksum).  The reverse direction (SNAT on
 * egress) is a second program in the same object.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))
#define TCP_CSUM_OFF (L4_OFF + offsetof(struct tcphdr, check))
#define UDP_CSUM_OFF (L4_OFF + offsetof(struct udphdr, check))
#define L4_DPORT_OFF (L4_OFF + offsetof(struct tcphdr, dest))
#define L4_SPORT_OFF (L4_OFF + offsetof(struct tcphdr, source))

#ifndef offsetof
#define offsetof(t, m) __builtin_offsetof(t, m)
#endif

struct nat_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct nat_val {
	__be32 addr;
	__be16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct nat_key);
	__type(value, struct nat_val);
} dnat_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct nat_key);
	__type(value, struct nat_val);
} snat_rules SEC(".maps");

static __always_inline int parse(struct __sk_buff *skb, struct nat_key *k, int use_src)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	struct tcphdr *th = data + L4_OFF;

	if (data + L4_OFF + sizeof(struct udphdr) > data_end)
		return -1;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5)
		return -1;
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return -1;
	k->proto = iph->protocol;
	k->addr = use_src ? iph->saddr : iph->daddr;
	k->port = use_src ? th->source : th->dest;	/* same offset for UDP */
	return 0;
}

static __always_inline int rewrite(struct __sk_buff *skb, const struct nat_key *k,
				   const struct nat_val *v, int ip_off, int port_off)
{
	int l4_csum_off = k->proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	__u32 old_addr = k->addr, new_addr = v->addr;
	__u16 old_port = k->port, new_port = v->port;

	if (bpf_l4_csum_replace(skb, l4_csum_off, old_addr, new_addr,
				BPF_F_PSEUDO_HDR | sizeof(new_addr)))
		return -1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)))
		return -1;
	if (bpf_skb_store_bytes(skb, ip_off, &new_addr, sizeof(new_addr), 0))
		return -1;
	if (old_port != new_port) {
		if (bpf_l4_csum_replace(skb, l4_csum_off, old_port, new_port, sizeof(new_port)))
			return -1;
		if (bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0))
			return -1;
	}
	return 0;
}

SEC("tc")
int tc_dnat_ingress(struct __sk_buff *skb)
{
	struct nat_key k = {};
	struct nat_val *v;

	if (parse(skb, &k, 0))
		return TC_ACT_OK;
	v = bpf_map_lookup_elem(&dnat_rules, &k);
	if (!v)
		return TC_ACT_OK;
	if (rewrite(skb, &k, v, IP_DST_OFF, L4_DPORT_OFF))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int tc_snat_egress(struct __sk_buff *skb)
{
	struct nat_key k = {};
	struct nat_val *v;

	if (parse(skb, &k, 1))
		return TC_ACT_OK;
	v = bpf_map_lookup_elem(&snat_rules, &k);
	if (!v)
		return TC_ACT_OK;
	if (rewrite(skb, &k, v, IP_SRC_OFF, L4_SPORT_OFF))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
