// SPDX-License-Identifier: GPL-2.0
/* Indirect calls through a function-pointer table.  The kernel has no
 * indirect call (BPF_CALL|BPF_X, "callx") support, so real programs must
 * let clang resolve the pointer at compile time: here the table index is a
 * compile-time constant after inlining and clang emits direct calls.  The
 * non-constant variant lives in reject_callx_indirect.c.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

typedef int (*handler_fn)(struct __sk_buff *skb);

static __noinline int on_small(struct __sk_buff *skb)
{
	skb->mark = 1;
	return TC_ACT_OK;
}

static __noinline int on_large(struct __sk_buff *skb)
{
	skb->mark = 2;
	return TC_ACT_OK;
}

static const handler_fn handlers[2] = { on_small, on_large };

static __always_inline int run(struct __sk_buff *skb, int which)
{
	handler_fn fn = handlers[which];

	return fn(skb);
}

SEC("tc")
int tc_dispatch_const(struct __sk_buff *skb)
{
	if (skb->len > 1000)
		return run(skb, 1);
	return run(skb, 0);
}

char LICENSE[] SEC("license") = "GPL";
