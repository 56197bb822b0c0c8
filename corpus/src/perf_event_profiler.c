// SPDX-License-Identifier: GPL-2.0
/* CPU profiler attached to a perf_event (SEC("perf_event")): on each
 * sample collects kernel and user stack ids with bpf_get_stackid() into a
 * STACK_TRACE map and counts (pid, stacks) tuples, reading the sample
 * period from struct bpf_perf_event_data.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

#define MAX_STACK_DEPTH 127
#define TASK_COMM_LEN 16

struct stack_key {
	__u32 pid;
	__s32 kern_stack;
	__s32 user_stack;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 40960);
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

const volatile bool kernel_only = false;

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), *val, period = ctx->sample_period;
	struct stack_key key = {};

	if ((__u32)id == 0)	/* idle */
		return 0;
	key.pid = id >> 32;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.kern_stack = bpf_get_stackid(ctx, &stacks, 0);
	key.user_stack = kernel_only ? -1 :
			 bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	val = bpf_map_lookup_elem(&counts, &key);
	if (val) {
		__sync_fetch_and_add(val, period ? period : 1);
	} else {
		__u64 init = period ? period : 1;

		bpf_map_update_elem(&counts, &key, &init, BPF_NOEXIST);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
