// mcpu: v4
// cpu v4: signed division and modulo, sign-extending moves and loads,
// unconditional byte swaps, stores of immediates and the 32-bit `gotol`.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef long long s64;
typedef int s32;
typedef short s16;
typedef signed char s8;

SEC("xdp") int cpuv4(struct xdp_md *ctx)
{
	s64 a = ctx->data, b = ctx->data_end;
	s32 c = ctx->ingress_ifindex;
	volatile s8 x = -1;
	volatile s16 y = -2;
	volatile s32 z = -3;
	s64 r = a / (b | 1);
	r += a % (b | 1);
	r += (s32)c / 3 + (s32)c % 5;
	r += (s8)a + (s16)b + (s32)r;
	r += x + y + z;
	r += __builtin_bswap16(c) + __builtin_bswap32(c) + __builtin_bswap64(r);
	asm volatile("gotol +1; r0 = 0; %[r] += 1" : [r] "+r"(r));
	return r & 3;
}
