// SPDX-License-Identifier: GPL-2.0
/* XDP firewall with LPM-trie blocklists for IPv4 and IPv6 source prefixes
 * and per-CPU drop/pass counters indexed by verdict.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr;
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct rule {
	__u64 hits;
	__u32 action;	/* XDP_DROP or XDP_PASS */
	__u32 rule_id;
};

enum { STAT_PASS, STAT_DROP, STAT_MALFORMED, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct lpm_v4_key);
	__type(value, struct rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blocklist_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct lpm_v6_key);
	__type(value, struct rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blocklist_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fw_stats SEC(".maps");

static __always_inline int account(__u32 what)
{
	__u64 *cnt = bpf_map_lookup_elem(&fw_stats, &what);

	if (cnt)
		(*cnt)++;
	return what == STAT_PASS ? XDP_PASS : XDP_DROP;
}

static __always_inline int apply(struct rule *r)
{
	if (!r)
		return account(STAT_PASS);
	__sync_fetch_and_add(&r->hits, 1);
	return account(r->action == XDP_DROP ? STAT_DROP : STAT_PASS);
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return account(STAT_MALFORMED);
	proto = eth->h_proto;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);
		struct lpm_v4_key key;

		if ((void *)(iph + 1) > data_end)
			return account(STAT_MALFORMED);
		key.prefixlen = 32;
		key.addr = iph->saddr;
		return apply(bpf_map_lookup_elem(&blocklist_v4, &key));
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct lpm_v6_key key;

		if ((void *)(ip6 + 1) > data_end)
			return account(STAT_MALFORMED);
		key.prefixlen = 128;
		__builtin_memcpy(key.addr, &ip6->saddr, sizeof(key.addr));
		return apply(bpf_map_lookup_elem(&blocklist_v6, &key));
	}
	return account(STAT_PASS);
}

char LICENSE[] SEC("license") = "GPL";
