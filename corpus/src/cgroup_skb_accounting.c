// SPDX-License-Identifier: GPL-2.0
/* cgroup_skb ingress/egress traffic accounting per cgroup, keyed by
 * bpf_skb_cgroup_id(), with a byte quota: once the egress quota is spent
 * packets are dropped (return 0).  Also shows bpf_get_socket_cookie and
 * the cgroup local storage alternative (BPF_MAP_TYPE_CGRP_STORAGE is newer;
 * a plain hash keeps this portable).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct traffic {
	__u64 rx_bytes;
	__u64 tx_bytes;
	__u64 rx_packets;
	__u64 tx_packets;
	__u64 quota;		/* 0 = unlimited */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct traffic);
} cgroup_traffic SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);		/* socket cookie */
	__type(value, __u64);		/* bytes */
} per_socket SEC(".maps");

static __always_inline struct traffic *get_entry(__u64 id)
{
	struct traffic *t = bpf_map_lookup_elem(&cgroup_traffic, &id);

	if (!t) {
		struct traffic zero = {};

		bpf_map_update_elem(&cgroup_traffic, &id, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&cgroup_traffic, &id);
	}
	return t;
}

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *skb)
{
	struct traffic *t = get_entry(bpf_skb_cgroup_id(skb));

	if (t) {
		__sync_fetch_and_add(&t->rx_bytes, skb->len);
		__sync_fetch_and_add(&t->rx_packets, 1);
	}
	return 1;
}

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	struct traffic *t = get_entry(bpf_skb_cgroup_id(skb));
	__u64 cookie = bpf_get_socket_cookie(skb), *sb;

	sb = bpf_map_lookup_elem(&per_socket, &cookie);
	if (sb)
		__sync_fetch_and_add(sb, skb->len);
	else {
		__u64 len = skb->len;

		bpf_map_update_elem(&per_socket, &cookie, &len, BPF_ANY);
	}
	if (!t)
		return 1;
	if (t->quota && t->tx_bytes + skb->len > t->quota)
		return 0;
	__sync_fetch_and_add(&t->tx_bytes, skb->len);
	__sync_fetch_and_add(&t->tx_packets, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
