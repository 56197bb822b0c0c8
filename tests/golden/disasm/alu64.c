// mcpu: v1 v2 v3
// 64-bit ALU: every operation with immediates and registers, negation,
// shifts, unsigned division and modulo.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef unsigned long long u64;
typedef long long s64;

SEC("xdp") int alu64(struct xdp_md *ctx)
{
	u64 a = ctx->data, b = ctx->data_end, c = ctx->ingress_ifindex;
	u64 r = a + 7;
	r -= b;
	r *= 13;
	r |= c;
	r &= 0xff00ff;
	r ^= a;
	r <<= 3;
	r >>= (c & 63);
	r = (u64)((s64)r >> 5);
	r += -r * (s64)b;
	r /= (c | 1);
	r %= (a | 3);
	r += a / 10 + b % 7;
	return r & 3;
}
