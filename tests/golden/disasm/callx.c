// mcpu: v3 v4
// Indirect calls through a function pointer (callx) and the address of a
// subprogram loaded with lddw.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))

static __attribute__((noinline)) int inc(int x) { return x + 1; }
static __attribute__((noinline)) int dec(int x) { return x - 1; }

SEC("xdp") int callx(struct xdp_md *ctx)
{
	int (*volatile f)(int) = ctx->ingress_ifindex & 1 ? inc : dec;
	return f(ctx->rx_queue_index) & 3;
}
