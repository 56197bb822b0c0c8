// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -D__TARGET_ARCH_x86
/* bashreadline-style uretprobe: captures the line returned by readline()
 * in user space with bpf_probe_read_user_str() and emits it through a perf
 * event array; the uprobe side remembers the prompt pointer per thread.
 * Section names without a binary path are attached manually by the loader.
 */
#include <linux/bpf.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_LINE 80

struct line_event {
	__u32 pid;
	__u32 prompt_len;
	char line[MAX_LINE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} lines SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} prompts SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(readline_entry, const char *prompt)
{
	__u64 id = bpf_get_current_pid_tgid(), p = (__u64)prompt;

	bpf_map_update_elem(&prompts, &id, &p, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(readline_return, const char *ret)
{
	__u64 id = bpf_get_current_pid_tgid(), *prompt;
	struct line_event ev = {};
	char tmp[MAX_LINE];

	if (!ret)
		return 0;
	ev.pid = id >> 32;
	prompt = bpf_map_lookup_elem(&prompts, &id);
	if (prompt) {
		long n = bpf_probe_read_user_str(tmp, sizeof(tmp), (void *)*prompt);

		ev.prompt_len = n > 0 ? n - 1 : 0;
		bpf_map_delete_elem(&prompts, &id);
	}
	bpf_probe_read_user_str(ev.line, sizeof(ev.line), ret);
	bpf_perf_event_output(ctx, &lines, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
