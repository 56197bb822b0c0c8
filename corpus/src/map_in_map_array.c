// SPDX-License-Identifier: GPL-2.0
/* ARRAY_OF_MAPS with an inner map template (__array(values, ...)) and
 * static initialisation of some outer slots with the BTF "values" syntax.
 * An XDP program picks the per-tenant allowlist (inner hash) by the VLAN-
 * less tenant id stored in the packet mark table.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct inner_allow {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);		/* IPv4 source */
	__type(value, __u8);
};

struct inner_allow tenant_a SEC(".maps");
struct inner_allow tenant_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_allow);
} tenants SEC(".maps") = {
	.values = {
		[0] = &tenant_a,
		[3] = &tenant_b,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);		/* IPv4 destination */
	__type(value, __u32);		/* tenant index */
} tenant_of_dst SEC(".maps");

SEC("xdp")
int xdp_tenant_allow(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 *tenant, src;
	void *allow;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	tenant = bpf_map_lookup_elem(&tenant_of_dst, &iph->daddr);
	if (!tenant)
		return XDP_PASS;
	allow = bpf_map_lookup_elem(&tenants, tenant);
	if (!allow)
		return XDP_DROP;	/* tenant configured but no table */
	src = iph->saddr;
	return bpf_map_lookup_elem(allow, &src) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
