// SPDX-License-Identifier: GPL-2.0
/* Classic-style socket filter built on the legacy packet-access
 * instructions BPF_ABS / BPF_IND (load_byte/load_half/load_word map to the
 * llvm.bpf.load.* intrinsics, exactly like samples/bpf did).  Accepts TCP
 * packets to a set of ports over IPv4, counts by IP protocol.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

#ifndef offsetof
#define offsetof(t, m) __builtin_offsetof(t, m)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} watched_ports SEC(".maps");

SEC("socket")
int sock_filter_tcp_ports(struct __sk_buff *skb)
{
	__u32 proto, ihl;
	__u64 *cnt;
	__u16 dport;

	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return 0;
	/* Fragments other than the first carry no L4 header. */
	if (load_half(skb, ETH_HLEN + offsetof(struct iphdr, frag_off)) & 0x1fff)
		return 0;

	proto = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	cnt = bpf_map_lookup_elem(&proto_count, &proto);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	if (proto != IPPROTO_TCP)
		return 0;

	/* BPF_IND: variable offset from the IHL nibble. */
	ihl = (load_byte(skb, ETH_HLEN) & 0x0f) << 2;
	dport = load_half(skb, ETH_HLEN + ihl + 2);
	if (!bpf_map_lookup_elem(&watched_ports, &dport))
		return 0;

	/* Sanity-check the source address is not 0.0.0.0 */
	if (load_word(skb, ETH_HLEN + offsetof(struct iphdr, saddr)) == 0)
		return 0;
	return skb->len;	/* keep the whole packet */
}

char LICENSE[] SEC("license") = "GPL";
