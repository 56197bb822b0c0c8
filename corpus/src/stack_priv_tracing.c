// SPDX-License-Identifier: GPL-2.0
/* Two frames of ~400 bytes each (800 bytes combined).  For
 * networking program types the verifier rejects this ("combined stack size
 * of 2 calls is 800. Too large", see reject_stack_overflow.c), but Linux
 * 6.18 ACCEPTS it for a tracepoint program: since 6.13 the x86-64 JIT can
 * give tracing programs a private per-CPU stack, and the combined-depth
 * check is then applied differently.  A verifier that wants kernel-identical
 * verdicts must model the program-type dependence.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 out;

static __noinline __u64 inner(__u32 seed)
{
	volatile __u8 buf[400];
	__u64 s = 0;
	int i;

	for (i = 0; i < 400; i += 8)
		buf[i] = seed + i;
	for (i = 0; i < 400; i += 8)
		s += buf[i];
	return s;
}

SEC("tracepoint/syscalls/sys_enter_getuid")
int deep_stack(void *ctx)
{
	volatile __u8 buf[400];
	int i;

	for (i = 0; i < 400; i += 8)
		buf[i] = i;
	out = inner(buf[8]) + buf[16];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
