// SPDX-License-Identifier: GPL-2.0
/* Function-call shapes a loader must relocate: static __noinline
 * subprograms (bpf-to-bpf calls, verified with the caller's context),
 * global functions (verified independently against their BTF signature),
 * __always_inline helpers that leave no symbol, a subprogram shared by two
 * entry programs in different sections, and recursion-free call chains
 * three deep.  Subprograms live in .text.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline __u32 clamp(__u32 v, __u32 hi)
{
	return v > hi ? hi : v;
}

static __noinline void bump(__u32 idx, __u64 by)
{
	__u64 *c;

	idx = clamp(idx, 15);
	c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		__sync_fetch_and_add(c, by);
}

static __noinline int classify_ttl(__u8 ttl)
{
	if (ttl <= 1)
		return 0;
	if (ttl <= 64)
		return 1;
	if (ttl <= 128)
		return 2;
	return 3;
}

/* Global function: must be safe for any argument values; the pointer
 * argument is nullable so it is checked. */
__noinline int ip_bucket(const struct iphdr *iph)
{
	if (!iph)
		return -1;
	return classify_ttl(iph->ttl) * 4 + (iph->protocol & 3);
}

__noinline int account_len(__u32 len)
{
	bump(8 + clamp(len >> 9, 7), 1);
	return 0;
}

static __noinline int parse_and_count(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct iphdr copy;
	int b;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	__builtin_memcpy(&copy, iph, sizeof(copy));
	b = ip_bucket(&copy);
	if (b >= 0)
		bump(b & 7, 1);
	return b;
}

SEC("xdp")
int xdp_subprogs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	account_len(data_end - data);
	return parse_and_count(data, data_end) == 0 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_subprogs(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	account_len(skb->len);
	return parse_and_count(data, data_end) == 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
