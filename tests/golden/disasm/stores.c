// mcpu: v1 v4
// Loads and stores of every size, from registers and (v4) immediates.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

struct rec { u8 a; u16 b; u32 c; u64 d; };

SEC("xdp") int stores(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct rec *p = data;
	if ((void *)(p + 1) > end)
		return 1;
	volatile struct rec s = { 1, 2, 3, 4 };
	p->a = 0x7f;
	p->b = 0x1234;
	p->c = 0xdeadbeef;
	p->d = -5;
	s.a += p->a;
	s.b += p->b;
	s.c += p->c;
	s.d += p->d;
	return (s.a + s.b + s.c + s.d) & 3;
}
