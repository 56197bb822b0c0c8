// SPDX-License-Identifier: GPL-2.0
/* BTF-defined maps of every shape libbpf parses: __type and __uint sizes,
 * flags, numa node, map_extra, a ring buffer whose size libbpf
 * rounds up, a program array and maps of maps with initial values. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct key {
	__u32 addr;
	__u16 port;
	__u16 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct key);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, 4);
	__uint(value_size, 16);
	__uint(numa_node, 0);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 100);
	__type(value, __u32);
	__uint(map_extra, 3);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} events SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 16);
		__type(key, __u32);
		__type(value, __u64);
	});
} outer_hash SEC(".maps");

int tail_target(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [3] = (void *)&tail_target },
};

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_maps(struct xdp_md *ctx)
{
	struct key k = { .addr = ctx->ingress_ifindex };
	__u32 zero = 0, *v;
	__u64 one = 1, *c;
	void *in;

	c = bpf_map_lookup_elem(&flows, &k);
	if (!c)
		bpf_map_update_elem(&flows, &k, &one, BPF_ANY);
	bpf_map_lookup_elem(&stats, &zero);
	bpf_map_lookup_elem(&lru, &zero);
	bpf_map_peek_elem(&bloom, &zero);
	bpf_ringbuf_output(&events, &zero, sizeof(zero), 0);
	in = bpf_map_lookup_elem(&outer, &zero);
	if (in) {
		v = bpf_map_lookup_elem(in, &zero);
		if (v)
			return *v;
	}
	in = bpf_map_lookup_elem(&outer_hash, &zero);
	bpf_tail_call(ctx, &jumps, 3);
	return in ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
