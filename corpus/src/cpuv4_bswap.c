// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -mcpu=v4
/* cpu v4 byte swaps: with -mcpu=v4 __builtin_bswap16/32/64 (and therefore
 * bpf_ntohs/ntohl on a little-endian target) compile to the unconditional
 * BPF_ALU64 | BPF_END "bswap" instruction instead of the v1 to-be form.
 * Parses a length-prefixed binary protocol in network byte order.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PROTO_PORT 7777

struct proto_hdr {
	__be16 magic;
	__be16 version;
	__be32 length;
	__be64 txn_id;
};

struct txn_info {
	__u64 txn_id;
	__u32 length;
	__u16 version;
	__u16 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct txn_info);
} txns SEC(".maps");

SEC("xdp")
int xdp_parse_be(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct udphdr *uh = (void *)(iph + 1);
	struct proto_hdr *ph = (void *)(uh + 1);
	struct txn_info ti = {};

	if ((void *)(ph + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5 ||
	    iph->protocol != IPPROTO_UDP || uh->dest != bpf_htons(PROTO_PORT))
		return XDP_PASS;
	if (__builtin_bswap16(ph->magic) != 0xB0F5)
		return XDP_DROP;

	ti.version = __builtin_bswap16(ph->version);
	ti.length = __builtin_bswap32(ph->length);
	ti.txn_id = __builtin_bswap64(ph->txn_id);
	ti.flags = bpf_ntohs(uh->len) > ti.length ? 1 : 0;
	bpf_map_update_elem(&txns, &ti.txn_id, &ti, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
