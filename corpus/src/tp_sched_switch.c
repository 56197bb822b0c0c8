// SPDX-License-Identifier: GPL-2.0
/* tracepoint/sched/sched_switch: per-task on-CPU time accounting (like
 * runqlat/cpudist).  The tracepoint context layout is declared locally, the
 * way tools without vmlinux.h do it; start timestamps live in a per-CPU
 * array and totals in a hash keyed by pid.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16

/* /sys/kernel/tracing/events/sched/sched_switch/format */
struct sched_switch_args {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;

	char prev_comm[TASK_COMM_LEN];
	__s32 prev_pid;
	__s32 prev_prio;
	__s64 prev_state;
	char next_comm[TASK_COMM_LEN];
	__s32 next_pid;
	__s32 next_prio;
};

struct oncpu {
	__u64 total_ns;
	__u64 switches;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} switch_in_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct oncpu);
} oncpu_time SEC(".maps");

const volatile __s32 target_tgid = 0;	/* 0: all */

SEC("tracepoint/sched/sched_switch")
int handle_sched_switch(struct sched_switch_args *ctx)
{
	__u32 zero = 0, prev = ctx->prev_pid;
	__u64 now = bpf_ktime_get_ns(), *ts;
	struct oncpu *st;

	ts = bpf_map_lookup_elem(&switch_in_ts, &zero);
	if (!ts)
		return 0;

	if (prev != 0 && *ts != 0 && (!target_tgid || (__s32)prev == target_tgid)) {
		st = bpf_map_lookup_elem(&oncpu_time, &prev);
		if (!st) {
			struct oncpu init = {};

			__builtin_memcpy(init.comm, ctx->prev_comm, TASK_COMM_LEN);
			bpf_map_update_elem(&oncpu_time, &prev, &init, BPF_NOEXIST);
			st = bpf_map_lookup_elem(&oncpu_time, &prev);
		}
		if (st) {
			st->total_ns += now - *ts;
			st->switches++;
		}
	}
	*ts = now;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
