// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -D__TARGET_ARCH_x86
// oxbpf-note: trampoline programs (fentry/fexit/lsm) get EPERM with no verifier log on the reference VM (lockdown=integrity); a stock kernel accepts them
/* fentry/fexit on do_unlinkat: trampoline programs get typed arguments and,
 * in fexit, the return value as the last argument.  Counts unlink calls
 * per pid and records failures.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct filename {
	const char *name;
} __attribute__((preserve_access_index));

struct unlink_stat {
	__u64 calls;
	__u64 errors;
	__s32 last_err;
	char last_name[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct unlink_stat);
} unlinks SEC(".maps");

static __always_inline struct unlink_stat *stat_for_current(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct unlink_stat *st = bpf_map_lookup_elem(&unlinks, &pid);

	if (!st) {
		struct unlink_stat zero = {};

		bpf_map_update_elem(&unlinks, &pid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&unlinks, &pid);
	}
	return st;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry, int dfd, struct filename *name)
{
	struct unlink_stat *st = stat_for_current();

	if (!st)
		return 0;
	st->calls++;
	bpf_probe_read_kernel_str(st->last_name, sizeof(st->last_name), name->name);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, long ret)
{
	struct unlink_stat *st;

	if (ret == 0)
		return 0;
	st = stat_for_current();
	if (!st)
		return 0;
	st->errors++;
	st->last_err = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
