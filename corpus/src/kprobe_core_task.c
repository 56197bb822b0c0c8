// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -D__TARGET_ARCH_x86
/* execsnoop-like kprobe using CO-RE: the kernel structures it needs are
 * declared locally with preserve_access_index, BPF_CORE_READ walks
 * task->real_parent->tgid and task->mm->arg_start, and
 * bpf_core_field_exists() picks task_struct::__state (5.14+) or the old
 * ::state through a "___old" flavour.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16
#define ARGSIZE 128

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
} __attribute__((preserve_access_index));

struct task_struct {
	unsigned int __state;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	char comm[TASK_COMM_LEN];
	unsigned int flags;
} __attribute__((preserve_access_index));

/* Pre-5.14 layout, matched by name "task_struct" (suffix ignored). */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 state;
	__u32 args_len;
	char comm[TASK_COMM_LEN];
	char args[ARGSIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} exec_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} heap SEC(".maps");

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

SEC("kprobe/finalize_exec")
int BPF_KPROBE(kprobe_finalize_exec, void *bprm)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct exec_event *e;
	unsigned long start, end;
	__u32 zero = 0, len;

	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;

	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->state = task_state(task);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);

	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end - start;
	if (len > ARGSIZE)
		len = ARGSIZE;
	e->args_len = len;
	bpf_probe_read_user(e->args, len & (ARGSIZE - 1), (void *)start);

	bpf_perf_event_output(ctx, &exec_events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
