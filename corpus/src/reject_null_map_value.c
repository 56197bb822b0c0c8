// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: dereferences the result of bpf_map_lookup_elem()
 * without a NULL check.  Expected kernel error:
 * "R0 invalid mem access 'map_value_or_null'".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_write")
int count_writes(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 *v = bpf_map_lookup_elem(&counts, &pid);

	*v += 1;	/* missing: if (!v) return 0; */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
