// SPDX-License-Identifier: GPL-2.0
/* Protocol dispatcher with tail calls: the entry XDP program parses the
 * Ethernet header and bpf_tail_call()s into a per-ethertype handler.  The
 * PROG_ARRAY is initialised statically from BTF "values" so the loader
 * fills the slots with the handler programs' fds.  A tail call from a
 * subprogram (bpf2bpf + tail call mix) is also present.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { PROG_IPV4, PROG_IPV6, PROG_ARP, PROG_MAX };

int handle_ipv4(struct xdp_md *ctx);
int handle_ipv6(struct xdp_md *ctx);
int handle_arp(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PROG_MAX);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = {
		[PROG_IPV4] = (void *)&handle_ipv4,
		[PROG_IPV6] = (void *)&handle_ipv6,
		[PROG_ARP] = (void *)&handle_arp,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROG_MAX + 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void hit(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&hits, &i);

	if (c)
		(*c)++;
}

static __noinline int dispatch(struct xdp_md *ctx, __u32 slot)
{
	bpf_tail_call(ctx, &jmp_table, slot);
	/* Only reached if the slot is empty. */
	hit(PROG_MAX);
	return XDP_PASS;
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return dispatch(ctx, PROG_IPV4);
	case bpf_htons(ETH_P_IPV6):
		return dispatch(ctx, PROG_IPV6);
	case bpf_htons(ETH_P_ARP):
		bpf_tail_call(ctx, &jmp_table, PROG_ARP);
		return XDP_PASS;
	}
	return XDP_PASS;
}

SEC("xdp")
int handle_ipv4(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = (void *)(long)ctx->data + sizeof(struct ethhdr);

	hit(PROG_IPV4);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	return iph->ttl <= 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int handle_ipv6(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = (void *)(long)ctx->data + sizeof(struct ethhdr);

	hit(PROG_IPV6);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_DROP;
	return ip6->hop_limit <= 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int handle_arp(struct xdp_md *ctx)
{
	hit(PROG_ARP);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
