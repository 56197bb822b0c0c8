// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: bpf_ktime_get_coarse_ns() is not available to tracing
 * program types (kprobe).  Expected kernel error:
 * "program of this type cannot use helper bpf_ktime_get_coarse_ns#160".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 last;

SEC("kprobe/do_sys_openat2")
int coarse_time(void *ctx)
{
	last = bpf_ktime_get_coarse_ns();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
