// SPDX-License-Identifier: GPL-2.0
/* String helpers: bpf_trace_printk() through the bpf_printk() macro (with
 * <= 3 args and with more, which switches to bpf_trace_vprintk),
 * bpf_snprintf() into a buffer with BPF_SNPRINTF, bpf_strncmp() against a
 * constant string in .rodata, and a raw bpf_trace_printk call with a
 * format on the stack, as old code does.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16

const char watched_comm[TASK_COMM_LEN] = "sshd";
char last_msg[96];

struct sys_enter_args {
	__u64 common;
	__s64 id;
	__u64 args[6];
};

SEC("tracepoint/syscalls/sys_enter_execve")
int printk_exec(struct sys_enter_args *ctx)
{
	char comm[TASK_COMM_LEN];
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u64 args[3];

	bpf_get_current_comm(comm, sizeof(comm));

	/* 3 args or fewer: bpf_trace_printk */
	bpf_printk("execve pid=%d tid=%d", pid, tid);

	if (bpf_strncmp(comm, sizeof(watched_comm), watched_comm) == 0) {
		/* more than 3 args: bpf_trace_vprintk */
		bpf_printk("watched %s pid=%d tid=%d uid=%d", comm, pid, tid,
			   (__u32)bpf_get_current_uid_gid());
	}

	args[0] = pid;
	args[1] = (__u64)comm;
	args[2] = ctx->args[0];
	bpf_snprintf(last_msg, sizeof(last_msg), "pid %u comm %s filename@%llx",
		     args, sizeof(args));

	{
		char fmt[] = "old-style printk %u\n";

		bpf_trace_printk(fmt, sizeof(fmt), pid);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
