// SPDX-License-Identifier: GPL-2.0
/* Pre-BTF map definitions: struct bpf_map_def in SEC("maps"), the way
 * samples/bpf and libbpf < 1.0 users wrote them (the struct was dropped
 * from bpf_helpers.h, so it is declared here).  libbpf >= 1.0 refuses such
 * objects; loaders that still support them read the definitions by symbol
 * from the "maps" section.  Old "socket1"-style numbered section names too.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct bpf_map_def SEC("maps") proto_bytes = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") proto_pkts = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") seen_src = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1024,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	__u32 index = load_byte(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, protocol));
	__u64 *value;

	if (skb->pkt_type != 4 /* PACKET_OUTGOING */)
		return 0;
	value = bpf_map_lookup_elem(&proto_bytes, &index);
	if (value)
		__sync_fetch_and_add(value, skb->len);
	value = bpf_map_lookup_elem(&proto_pkts, &index);
	if (value)
		*value += 1;
	return 0;
}

SEC("socket2")
int bpf_prog2(struct __sk_buff *skb)
{
	/* socket filters cannot read skb->remote_ip4: use BPF_ABS */
	__u32 src = load_word(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, saddr));
	__u64 one = 1, *v = bpf_map_lookup_elem(&seen_src, &src);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&seen_src, &src, &one, BPF_ANY);
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060000;
