// mcpu: v3 v4
// 32-bit ALU (w registers), which clang emits from -mcpu=v3 on.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef unsigned int u32;
typedef int s32;

SEC("xdp") int alu32(struct xdp_md *ctx)
{
	u32 a = ctx->data, b = ctx->data_end, c = ctx->rx_queue_index;
	u32 r = a + 7;
	r -= b;
	r *= 13;
	r |= c;
	r &= 0xff00ff;
	r ^= a;
	r <<= 3;
	r >>= (c & 31);
	r = (u32)((s32)r >> 5);
	r = -r;
	r /= (c | 1);
	r %= (a | 3);
	return (r + a / 10 + b % 7) & 3;
}
