// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: a ring buffer reservation that is neither submitted
 * nor discarded on the early-return path.  Expected kernel error:
 * "Unreleased reference id=2 alloc_insn=N".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
	__u32 pid;
	__u32 cpu;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int leak(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	if (e->pid == 1)
		return 0;	/* BUG: leaks the reservation */
	e->cpu = bpf_get_smp_processor_id();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
