// SPDX-License-Identifier: GPL-2.0
/* tc egress GUE-style encapsulation: bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC)
 * with the ENCAP flags opens space for an outer IPv4 + UDP header after the
 * MAC header, which is then filled in with bpf_skb_store_bytes().  The
 * ingress side decapsulates with a negative adjust_room.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define GUE_PORT 6080
/* Added in Linux 6.3; the bookworm uapi header (6.1) does not have it. */
#define ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)

struct encap_hdr {
	struct iphdr ip;
	struct udphdr udp;
} __attribute__((packed));

struct tunnel {
	__be32 saddr;
	__be32 daddr;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tunnel);
} tunnel_cfg SEC(".maps");

static __always_inline __u16 csum_ipv4(void *hdr)
{
	__u16 *p = hdr;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += p[i];
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return ~sum;
}

SEC("tc")
int tc_gue_encap(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;
	struct iphdr *inner = data + ETH_HLEN;
	struct encap_hdr h = {};
	struct tunnel *t;
	__u32 zero = 0;
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 |
		      BPF_F_ADJ_ROOM_ENCAP_L4_UDP;

	if ((void *)(inner + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	t = bpf_map_lookup_elem(&tunnel_cfg, &zero);
	if (!t || !t->daddr)
		return TC_ACT_OK;

	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_UDP;
	h.ip.saddr = t->saddr;
	h.ip.daddr = t->daddr;
	h.ip.tot_len = bpf_htons(skb->len - ETH_HLEN + sizeof(h));
	h.ip.check = csum_ipv4(&h.ip);
	h.udp.source = bpf_htons(GUE_PORT + (skb->hash & 0xff));
	h.udp.dest = bpf_htons(GUE_PORT);
	h.udp.len = bpf_htons(skb->len - ETH_HLEN + sizeof(h.udp));

	if (bpf_skb_adjust_room(skb, sizeof(h), BPF_ADJ_ROOM_MAC, flags))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), BPF_F_INVALIDATE_HASH))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int tc_gue_decap(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct encap_hdr *h = data + ETH_HLEN;

	if ((void *)(h + 1) > data_end)
		return TC_ACT_OK;
	if (h->ip.protocol != IPPROTO_UDP || h->ip.ihl != 5 ||
	    h->udp.dest != bpf_htons(GUE_PORT))
		return TC_ACT_OK;
	if (bpf_skb_adjust_room(skb, -(__s32)sizeof(*h), BPF_ADJ_ROOM_MAC,
				ADJ_ROOM_DECAP_L3_IPV4))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
