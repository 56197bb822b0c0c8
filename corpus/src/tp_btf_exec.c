// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -D__TARGET_ARCH_x86
/* BTF-enabled tracepoint (tp_btf/sched_process_exec): arguments are typed
 * kernel pointers, so fields are dereferenced directly (the verifier tracks
 * PTR_TO_BTF_ID) instead of through bpf_probe_read.  BPF_PROG unpacks the
 * u64 argument array.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16

struct task_struct {
	int pid;
	int tgid;
	char comm[TASK_COMM_LEN];
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
	int argc;
	int envc;
} __attribute__((preserve_access_index));

struct exec_stat {
	__u64 count;
	__u32 last_pid;
	__u32 last_argc;
	char last_comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);		/* parent tgid */
	__type(value, struct exec_stat);
} execs_by_parent SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm)
{
	__u32 ppid = p->real_parent->tgid;	/* direct BTF pointer walk */
	struct exec_stat *st, zero = {};

	st = bpf_map_lookup_elem(&execs_by_parent, &ppid);
	if (!st) {
		bpf_map_update_elem(&execs_by_parent, &ppid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&execs_by_parent, &ppid);
		if (!st)
			return 0;
	}
	st->count++;
	st->last_pid = p->pid;
	st->last_argc = bprm->argc;
	__builtin_memcpy(st->last_comm, p->comm, TASK_COMM_LEN);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
