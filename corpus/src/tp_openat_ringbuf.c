// SPDX-License-Identifier: GPL-2.0
/* opensnoop-style tracer: tracepoint/syscalls/sys_enter_openat copies the
 * user-space path with bpf_probe_read_user_str() straight into a ring
 * buffer reservation; events for filtered-out comms are discarded
 * (bpf_ringbuf_discard), the exit tracepoint reports the return value with
 * bpf_ringbuf_output().
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16
#define NAME_MAX 255

struct sys_enter_args {
	__u64 common;		/* common_type/flags/preempt_count/pid */
	__s64 id;
	__u64 args[6];
};

struct sys_exit_args {
	__u64 common;
	__s64 id;
	__s64 ret;
};

struct open_event {
	__u64 ts;
	__u32 pid;
	__u32 uid;
	__s32 flags;
	__s32 dfd;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX + 1];
};

struct exit_event {
	__u32 pid;
	__s32 ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

const volatile char comm_filter[TASK_COMM_LEN] = {};
const volatile bool report_exit = true;

static __always_inline bool comm_allowed(const char *comm)
{
	int i;

	if (comm_filter[0] == 0)
		return true;
	for (i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != comm_filter[i])
			return false;
		if (comm[i] == 0)
			break;
	}
	return true;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_enter_openat(struct sys_enter_args *ctx)
{
	struct open_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;

	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->dfd = (int)ctx->args[0];
	e->flags = (int)ctx->args[2];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (!comm_allowed(e->comm)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return 0;
	}
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), (const void *)ctx->args[1]);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int trace_exit_openat(struct sys_exit_args *ctx)
{
	struct exit_event e;
	__u64 flags;

	if (!report_exit)
		return 0;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.ret = ctx->ret;
	/* Only wake the consumer when a fair amount of data is queued. */
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > 64 * 1024 ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_output(&events, &e, sizeof(e), flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
