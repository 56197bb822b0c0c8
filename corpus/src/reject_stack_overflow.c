// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: each function stays under clang's 512-byte per-frame
 * check, but the call chain needs more than 512 bytes of stack in total.
 * Expected kernel error: "combined stack size of 2 calls is 800. Too large".
 * (The same code as a tracepoint program is accepted by 6.18: tracing
 * programs get the x86-64 JIT's private stack, see stack_priv_tracing.c.)
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

SEC("xdp")
int deep_stack(struct xdp_md *ctx)
{
	volatile __u8 buf[400];
	int i;

	for (i = 0; i < 400; i += 8)
		buf[i] = i;
	out = inner(buf[8]) + buf[16];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
