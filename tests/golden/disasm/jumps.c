// mcpu: v1 v2 v3
// Conditional jumps, signed and unsigned, against registers and constants;
// v2 adds jlt/jle/jslt/jsle, v3 the 32-bit jump class.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef long long s64;
typedef int s32;

SEC("xdp") int jumps(struct xdp_md *ctx)
{
	unsigned long long a = ctx->data, b = ctx->data_end;
	unsigned int x = ctx->ingress_ifindex, y = ctx->rx_queue_index;
	int r = 0;
	if (a + 14 > b) return 1;
	if (a < b - 100) r += 1;
	if (a <= b - 200) r += 2;
	if ((s64)a < -5) r += 3;
	if ((s64)b >= 7) r += 4;
	if ((s64)a <= (s64)b) r += 5;
	if (a & 0x40) r += 6;
	if (x == 4) r += 7;
	if (x != y) r += 8;
	if ((s32)x < (s32)y) r += 9;
	if (x >= 1000) r += 10;
	if ((s32)y > -3) r += 11;
	if (x & y) r += 12;
	for (int i = 0; i < 4 && i < (int)y; i++)
		r += i;
	return r & 3;
}
