// SPDX-License-Identifier: GPL-2.0
/* XDP router for jumbo/multi-buffer frames: SEC("xdp.frags") sets
 * BPF_F_XDP_HAS_FRAGS, so the program must use bpf_xdp_get_buff_len() and
 * bpf_xdp_load_bytes()/bpf_xdp_store_bytes() for data beyond the first
 * buffer.  Forwarding decisions come from the kernel FIB via
 * bpf_fib_lookup(), then bpf_redirect() to the egress ifindex.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2

__u64 fwd_ok, fwd_miss, big_frames;

static __always_inline int ip_decrease_ttl(struct iphdr *iph)
{
	__u32 check = iph->check;

	check += bpf_htons(0x0100);
	iph->check = (__u16)(check + (check >= 0xFFFF));
	return --iph->ttl;
}

SEC("xdp.frags")
int xdp_router(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u8 trailer[4];
	int rc;

	if (bpf_xdp_get_buff_len(ctx) > 4096) {
		big_frames++;
		/* Peek at the last bytes even if they live in a fragment. */
		if (bpf_xdp_load_bytes(ctx, bpf_xdp_get_buff_len(ctx) - 4, trailer, 4))
			return XDP_DROP;
	}

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return XDP_DROP;
	if (iph->ttl <= 1)
		return XDP_PASS;

	fib.family = AF_INET;
	fib.tos = iph->tos;
	fib.l4_protocol = iph->protocol;
	fib.tot_len = bpf_ntohs(iph->tot_len);
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = ctx->ingress_ifindex;

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		fwd_miss++;
		return rc == BPF_FIB_LKUP_RET_BLACKHOLE ? XDP_DROP : XDP_PASS;
	}
	ip_decrease_ttl(iph);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	fwd_ok++;
	return bpf_redirect(fib.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
