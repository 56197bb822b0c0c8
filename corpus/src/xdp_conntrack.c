// SPDX-License-Identifier: GPL-2.0
/* XDP stateful filter: a hash of flows keyed by the 5-tuple with a TCP
 * state machine; new inbound connections are only allowed to listed ports,
 * established flows are refreshed with bpf_ktime_get_ns().
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FLOW_TIMEOUT_NS (120ULL * 1000000000ULL)

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

enum ct_state { CT_NEW, CT_SYN_SENT, CT_ESTABLISHED, CT_CLOSING };

struct flow_val {
	__u64 last_seen;
	__u64 packets;
	__u64 bytes;
	__u32 state;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u16);
	__type(value, __u8);
} allowed_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} drops_by_reason SEC(".maps");

static __always_inline void drop_reason(__u32 reason)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&drops_by_reason, &reason);

	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&drops_by_reason, &reason, &one, BPF_NOEXIST);
}

static __always_inline void reverse(struct flow_key *r, const struct flow_key *k)
{
	r->saddr = k->daddr;
	r->daddr = k->saddr;
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
}

SEC("xdp")
int xdp_conntrack(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct flow_key key = {}, rkey = {};
	struct flow_val *fv, nv = {};
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u8 tcp_flags = 0;
	__u64 now;
	__u16 port;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;

	key.saddr = iph->saddr;
	key.daddr = iph->daddr;
	key.proto = iph->protocol;
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = (void *)iph + iph->ihl * 4;

		if ((void *)(th + 1) > data_end)
			return XDP_DROP;
		key.sport = th->source;
		key.dport = th->dest;
		tcp_flags = ((__u8 *)th)[13];
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = (void *)iph + iph->ihl * 4;

		if ((void *)(uh + 1) > data_end)
			return XDP_DROP;
		key.sport = uh->source;
		key.dport = uh->dest;
	} else {
		return XDP_PASS;
	}

	now = bpf_ktime_get_ns();
	fv = bpf_map_lookup_elem(&flows, &key);
	if (!fv) {
		reverse(&rkey, &key);
		fv = bpf_map_lookup_elem(&flows, &rkey);
	}
	if (fv) {
		if (now - fv->last_seen > FLOW_TIMEOUT_NS) {
			drop_reason(1);
			bpf_map_delete_elem(&flows, &key);
			return XDP_DROP;
		}
		fv->last_seen = now;
		__sync_fetch_and_add(&fv->packets, 1);
		__sync_fetch_and_add(&fv->bytes, (__u64)(data_end - data));
		if (tcp_flags & 0x01 /* FIN */ || tcp_flags & 0x04 /* RST */)
			fv->state = CT_CLOSING;
		else if (fv->state == CT_SYN_SENT && (tcp_flags & 0x10 /* ACK */))
			fv->state = CT_ESTABLISHED;
		return XDP_PASS;
	}

	port = bpf_ntohs(key.dport);
	if (!bpf_map_lookup_elem(&allowed_ports, &port)) {
		drop_reason(2);
		return XDP_DROP;
	}
	if (key.proto == IPPROTO_TCP && !(tcp_flags & 0x02 /* SYN */)) {
		drop_reason(3);
		return XDP_DROP;
	}
	nv.last_seen = now;
	nv.packets = 1;
	nv.bytes = data_end - data;
	nv.state = key.proto == IPPROTO_TCP ? CT_SYN_SENT : CT_ESTABLISHED;
	bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
