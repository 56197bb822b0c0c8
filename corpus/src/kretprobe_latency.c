// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -D__TARGET_ARCH_x86
/* funclatency-style kprobe/kretprobe pair on vfs_read: entry timestamps in
 * a hash keyed by pid_tgid, log2 latency histogram computed with a
 * branch-free bounded log2 and bytes-read totals from the return value.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>

#define MAX_SLOTS 27

struct hist {
	__u64 slots[MAX_SLOTS];
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

const volatile __u32 filter_tgid = 0;

static __always_inline __u64 log2(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 log2l(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2(hi) + 32 : log2(v);
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(vfs_read_entry)
{
	__u64 id = bpf_get_current_pid_tgid(), ts;

	if (filter_tgid && (id >> 32) != filter_tgid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &id, &ts, BPF_ANY);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(vfs_read_exit, long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), *tsp, delta, slot;
	__u32 zero = 0;
	struct hist *h;

	tsp = bpf_map_lookup_elem(&start, &id);
	if (!tsp)
		return 0;
	delta = (bpf_ktime_get_ns() - *tsp) / 1000;	/* usecs */
	bpf_map_delete_elem(&start, &id);

	h = bpf_map_lookup_elem(&hists, &zero);
	if (!h)
		return 0;
	slot = log2l(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	if (ret > 0)
		__sync_fetch_and_add(&h->bytes, ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
