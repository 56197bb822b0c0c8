// mcpu: v1 v4
// Byte order: __builtin_bswap16/32/64 (be16/32/64 before v4, bswap from
// v4 on) and conversions to little endian.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef unsigned long long u64;

SEC("xdp") int bswap(struct xdp_md *ctx)
{
	u64 a = ctx->data, b = ctx->data_end;
	u64 r = __builtin_bswap16(a) + __builtin_bswap32(b) + __builtin_bswap64(a ^ b);
	r ^= __builtin_bswap16((unsigned short)r) == 0x0800;
	return r & 3;
}
