// SPDX-License-Identifier: GPL-2.0
/* XDP RSS in software: spreads flows over CPUs with a CPUMAP, choosing the
 * CPU from a hash of the IPv4 addresses; the cpumap entry runs a second
 * XDP program (SEC("xdp/cpumap")) on the remote CPU.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_CPUS 64

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} cpus_available SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cpus_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} remote_rx SEC(".maps");

SEC("xdp")
int xdp_cpumap_spread(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u32 zero = 0, *count, *cpu, idx, h;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;

	count = bpf_map_lookup_elem(&cpus_count, &zero);
	if (!count || *count == 0)
		return XDP_PASS;

	h = iph->saddr ^ iph->daddr;
	h ^= h >> 16;
	idx = h % *count;
	cpu = bpf_map_lookup_elem(&cpus_available, &idx);
	if (!cpu)
		return XDP_ABORTED;
	return bpf_redirect_map(&cpu_map, *cpu, 0);
}

SEC("xdp/cpumap")
int xdp_cpumap_remote(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *cnt = bpf_map_lookup_elem(&remote_rx, &zero);

	if (cnt)
		(*cnt)++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
