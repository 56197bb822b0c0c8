// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: reads a callee-saved register that was never written
 * (hand-written BPF assembly in a naked function, the way selftests write
 * verifier tests).  Uninitialised *stack* reads are allowed for privileged
 * loaders since 6.x (see uninit_stack_privileged.c), uninitialised
 * registers never are.  Expected kernel error: "R7 !read_ok".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
__attribute__((naked)) int uninit_reg(void *ctx)
{
	asm volatile(
		"r0 = r7;"
		"r0 &= 1;"
		"exit;"
		::: "memory");
}

char LICENSE[] SEC("license") = "GPL";
