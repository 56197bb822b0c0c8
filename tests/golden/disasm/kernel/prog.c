// mcpu: v3
// Loaded into the running kernel by rebuild.sh: its `prog dump xlated`
// text is the golden for our kernel dialect on the same (xlated) bytes.
// Globals become map-value references (map[id:N][0]+off).
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef unsigned long long u64;
typedef unsigned int u32;

u64 total;
u32 small;

SEC("xdp") int prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	unsigned char *p = data;
	if ((void *)(p + 16) > end)
		return XDP_PASS;
	u64 r = 0;
	u32 x = p[0] | (p[1] << 8);
	if (x > 1000)
		r += x / 3;
	else if ((int)x < -4)
		r -= x % 5;
	r ^= *(u64 *)(p + 8) >> 3;
	*(u32 *)(p + 4) = 0x12345678;
	__sync_fetch_and_add(&total, r);
	r += __sync_fetch_and_or(&small, 2);
	r += __sync_val_compare_and_swap(&total, 7, r);
	r = -r;
	for (int i = 0; i < 3; i++)
		r += p[i + 2] << i;
	return r & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
