// SPDX-License-Identifier: GPL-2.0
/* BPF iterator over tasks (SEC("iter/task")), the "ps in BPF" example:
 * prints one line per task into the seq_file with BPF_SEQ_PRINTF
 * (bpf_seq_printf) and a header on the first call.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	char comm[TASK_COMM_LEN];
	unsigned int flags;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

#define PF_KTHREAD 0x00200000

__u64 tasks_seen = 0;

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;	/* end of iteration */
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%8s %8s %-16s %s\n", "TGID", "PID", "COMM", "KIND");
	tasks_seen++;
	BPF_SEQ_PRINTF(seq, "%8d %8d %-16s %s\n", task->tgid, task->pid, task->comm,
		       task->flags & PF_KTHREAD ? "kthread" : "user");
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
