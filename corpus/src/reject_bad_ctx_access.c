// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: writes a read-only __sk_buff field (len) from a tc
 * program.  Expected kernel error: "invalid bpf_context access off=0 size=4".
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_truncate_wrong(struct __sk_buff *skb)
{
	if (skb->len > 1500)
		skb->len = 1500;	/* should be bpf_skb_change_tail() */
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
