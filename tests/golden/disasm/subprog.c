// mcpu: v2 v3
// bpf-to-bpf calls: static and global subprograms in .text called from
// two program sections, and a recursive-looking chain.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))

static __attribute__((noinline)) int twice(int x)
{
	return x * 2 + 1;
}

__attribute__((noinline)) int mix(int a, int b)
{
	return twice(a) ^ twice(b + 3);
}

SEC("xdp") int prog_a(struct xdp_md *ctx)
{
	return mix(ctx->ingress_ifindex, ctx->rx_queue_index) & 3;
}

SEC("tc") int prog_b(struct __sk_buff *skb)
{
	return twice(skb->len) & 1;
}

char LICENSE[] SEC("license") = "GPL";
