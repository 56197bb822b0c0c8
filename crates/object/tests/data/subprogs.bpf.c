// SPDX-License-Identifier: GPL-2.0
/* Subprogram linking: static and global .text functions, a subprogram
 * shared by two programs, nested calls, a callback passed by address
 * (BPF_PSEUDO_FUNC), two programs in one section, a map used from a
 * subprogram, and a non-autoloaded "?" section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __noinline int leaf(int x)
{
	return x * 3 + 1;
}

static __noinline int middle(int x)
{
	return leaf(x) + leaf(x + 1);
}

__noinline int global_helper(int x)
{
	__u32 k = x & 3;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
	return middle(x);
}

static int loop_cb(__u32 i, void *ctx)
{
	*(int *)ctx += leaf(i);
	return 0;
}

SEC("xdp")
int xdp_a(struct xdp_md *ctx)
{
	int acc = 0;

	bpf_loop(4, loop_cb, &acc, 0);
	return global_helper(ctx->ingress_ifindex) + acc > 100 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_b(struct xdp_md *ctx)
{
	return middle(ctx->rx_queue_index) & 1 ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int tc_c(struct __sk_buff *skb)
{
	return global_helper(skb->len);
}

SEC("?tc")
int tc_lazy(struct __sk_buff *skb)
{
	return leaf(skb->mark);
}

char LICENSE[] SEC("license") = "GPL";
