// SPDX-License-Identifier: GPL-2.0
/* bpf_loop() (5.17+) with callbacks that carry state through a context
 * struct, stop early by returning 1, and look up maps; the callback is a
 * static function passed by address (a BPF_PSEUDO_FUNC ld_imm64).  Also
 * bpf_for_each_map_elem() over a hash to sum values.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_ITERS 4096

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} weights SEC(".maps");

struct scan_ctx {
	__u64 sum;
	__u64 max;
	__u32 max_idx;
	__u32 threshold;
	__u32 stopped_at;
};

struct sum_ctx {
	__u64 total;
	__u32 entries;
};

__u64 result_sum, result_max, result_weights;
__u32 result_idx, result_stop;

static int scan_one(__u32 index, void *data)
{
	struct scan_ctx *c = data;
	__u64 *v = bpf_map_lookup_elem(&samples, &index);

	if (!v)
		return 1;		/* past the end: stop */
	c->sum += *v;
	if (*v > c->max) {
		c->max = *v;
		c->max_idx = index;
	}
	if (c->threshold && c->sum > c->threshold) {
		c->stopped_at = index;
		return 1;
	}
	return 0;
}

static long sum_weight(void *map, __u32 *key, __u64 *val, struct sum_ctx *c)
{
	c->total += *val;
	c->entries++;
	/* Returning a value derived from c->entries (e.g. "entries >= 128")
	 * makes the counter precise and the 6.18 verifier then iterates the
	 * callback once per value until it hits 1M insns; stop on data instead. */
	return *val == ~0ULL;	/* 1 stops the walk */
}

SEC("tracepoint/sched/sched_process_exit")
int loop_scan(void *ctx)
{
	struct scan_ctx c = { .threshold = 1 << 20 };
	struct sum_ctx s = {};
	long n;

	n = bpf_loop(MAX_ITERS, scan_one, &c, 0);
	if (n < 0)
		return 0;
	result_sum = c.sum;
	result_max = c.max;
	result_idx = c.max_idx;
	result_stop = c.stopped_at;

	bpf_for_each_map_elem(&weights, sum_weight, &s, 0);
	result_weights = s.total;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
