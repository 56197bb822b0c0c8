// SPDX-License-Identifier: GPL-2.0
/* raw_tracepoint/sched_process_fork and sched_process_exit: raw tracepoints
 * get the untyped argument array (struct bpf_raw_tracepoint_args), so the
 * task pointers are read with bpf_probe_read_kernel() at CO-RE-relocated
 * offsets.  Tracks live children per parent.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);		/* parent tgid */
	__type(value, __s64);		/* live children */
} children SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);		/* child pid */
	__type(value, __u32);		/* parent tgid */
} parent_of SEC(".maps");

SEC("raw_tracepoint/sched_process_fork")
int raw_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0];
	struct task_struct *child = (void *)ctx->args[1];
	__u32 ptgid, cpid;
	__s64 one = 1, *n;

	bpf_probe_read_kernel(&ptgid, sizeof(ptgid), &parent->tgid);
	bpf_probe_read_kernel(&cpid, sizeof(cpid), &child->pid);

	n = bpf_map_lookup_elem(&children, &ptgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&children, &ptgid, &one, BPF_NOEXIST);
	bpf_map_update_elem(&parent_of, &cpid, &ptgid, BPF_ANY);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)ctx->args[0];
	__u32 pid = BPF_CORE_READ(task, pid), *ptgid;
	__s64 *n;

	ptgid = bpf_map_lookup_elem(&parent_of, &pid);
	if (!ptgid)
		return 0;
	n = bpf_map_lookup_elem(&children, ptgid);
	if (n)
		__sync_fetch_and_add(n, -1);
	bpf_map_delete_elem(&parent_of, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
