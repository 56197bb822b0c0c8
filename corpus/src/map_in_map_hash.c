// SPDX-License-Identifier: GPL-2.0
/* HASH_OF_MAPS keyed by cgroup id whose inner maps are per-cgroup
 * counters arrays; the inner template is declared inline with __array()
 * and one entry is pre-populated with "values".  The tracepoint bumps the
 * syscall counter of the current cgroup.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NR_SYSCALLS 512

struct sys_enter_args {
	__u64 common;
	__s64 id;
	__u64 args[6];
};

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SYSCALLS);
	__type(key, __u32);
	__type(value, __u64);
} counters_t;

counters_t root_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 128);
	/* libbpf only initialises "values" of maps with 4-byte keys, so the
	 * key is the low 32 bits of the cgroup id. */
	__type(key, __u32);
	__array(values, counters_t);
} per_cgroup SEC(".maps") = {
	.values = { [1] = &root_counters },	/* key 1: the root cgroup */
};

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscalls(struct sys_enter_args *ctx)
{
	__u32 cgid = (__u32)bpf_get_current_cgroup_id();
	__u64 *cnt;
	__u32 nr = (__u32)ctx->id;
	void *inner;

	inner = bpf_map_lookup_elem(&per_cgroup, &cgid);
	if (!inner)
		return 0;
	if (nr >= NR_SYSCALLS)
		return 0;
	cnt = bpf_map_lookup_elem(inner, &nr);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
