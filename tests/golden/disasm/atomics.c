// mcpu: v3 v4
// Atomic read-modify-write on map values and the stack: add without and
// with fetch, or/and/xor fetches, exchange and compare-exchange, 32 and 64
// bits.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
typedef unsigned long long u64;
typedef unsigned int u32;

u64 counter64;
u32 counter32;

SEC("xdp") int atomics(struct xdp_md *ctx)
{
	u64 v = ctx->data_end - ctx->data;
	u64 r = 0;
	__sync_fetch_and_add(&counter64, 1);
	__sync_fetch_and_add(&counter32, 2);
	r += __sync_fetch_and_add(&counter64, v);
	r += __sync_fetch_and_or(&counter64, 4);
	r += __sync_fetch_and_and(&counter64, v);
	r += __sync_fetch_and_xor(&counter64, 8);
	r += __sync_fetch_and_add(&counter32, 3);
	r += __sync_fetch_and_or(&counter32, 4);
	r += __sync_fetch_and_and(&counter32, 5);
	r += __sync_fetch_and_xor(&counter32, 6);
	r += __sync_lock_test_and_set(&counter64, v);
	r += __sync_lock_test_and_set(&counter32, 9);
	r += __sync_val_compare_and_swap(&counter64, 7, v);
	r += __sync_val_compare_and_swap(&counter32, 7, 11);
	return r & 3;
}
