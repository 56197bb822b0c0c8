// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: reads the IPv4 protocol byte without comparing the
 * packet pointer against data_end first.  Expected kernel error:
 * "invalid access to packet, off=23 size=1, R1(id=0,off=23,r=0)".
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_no_bounds_check(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct iphdr *iph = data + sizeof(struct ethhdr);

	/* missing: if ((void *)(iph + 1) > data_end) return XDP_DROP; */
	if (iph->protocol == 17)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
