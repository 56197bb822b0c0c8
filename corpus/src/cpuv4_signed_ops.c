// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -mcpu=v4
/* cpu v4 ALU: signed division and modulo (sdiv/smod, BPF_DIV/MOD with
 * off=1), sign-extending moves (movsx: (s8)/(s16)/(s32) casts in registers)
 * and sign-extending loads (ldsx) of signed fields in map values.  Computes
 * signed deltas of a temperature-like gauge and their running average.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct gauge {
	__s8 small_delta;
	__s16 medium_delta;
	__s32 last;
	__s64 sum;
	__s64 count;
	__s64 avg;
	__s64 rem;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct gauge);
} gauges SEC(".maps");

struct sys_enter_args {
	__u64 common;
	__s64 id;
	__u64 args[6];
};

SEC("tracepoint/syscalls/sys_enter_nanosleep")
int signed_math(struct sys_enter_args *ctx)
{
	__u32 key = (__u32)ctx->id & 15;
	struct gauge *g = bpf_map_lookup_elem(&gauges, &key);
	__s64 sample, delta, div;
	__s32 s32;

	if (!g)
		return 0;
	s32 = (__s32)ctx->args[1];		/* movsx 32 */
	sample = s32;
	delta = sample - g->last;		/* ldsx of g->last */
	g->small_delta = (__s8)delta;		/* truncation */
	g->medium_delta = (__s16)delta;

	g->sum += delta + g->small_delta + g->medium_delta;	/* ldsx 8/16 */
	g->count++;
	div = g->count;
	if (div == 0)
		return 0;
	g->avg = g->sum / div;			/* sdiv */
	g->rem = g->sum % div;			/* smod */
	g->last = s32;

	/* 32-bit signed division too */
	if ((__s32)div != 0)
		g->rem += (__s32)g->sum / (__s32)div + (__s32)g->sum % (__s32)div;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
