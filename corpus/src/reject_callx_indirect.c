// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: a function pointer chosen at run time.  clang 19
 * compiles it to an indirect call ("callx rN", BPF_JMP|BPF_CALL|BPF_X),
 * which the kernel verifier does not support.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

typedef int (*handler_fn)(struct __sk_buff *skb);

static __noinline int h0(struct __sk_buff *skb) { skb->mark = 10; return TC_ACT_OK; }
static __noinline int h1(struct __sk_buff *skb) { skb->mark = 11; return TC_ACT_OK; }
static __noinline int h2(struct __sk_buff *skb) { skb->mark = 12; return TC_ACT_SHOT; }

static handler_fn table[3] = { h0, h1, h2 };

SEC("tc")
int tc_dispatch_runtime(struct __sk_buff *skb)
{
	__u32 idx = skb->priority % 3;

	return table[idx](skb);
}

char LICENSE[] SEC("license") = "GPL";
