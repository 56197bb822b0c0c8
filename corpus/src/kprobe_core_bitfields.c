// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -D__TARGET_ARCH_x86
/* tcpconnect-like kprobe exercising the less common CO-RE relocations:
 * BPF_CORE_READ_BITFIELD_PROBED on sk_buff::pkt_type and sock::sk_kern_sock,
 * bpf_core_field_size(), bpf_core_type_exists(), bpf_core_enum_value() and
 * bpf_core_enum_value_exists() against kernel enums, and a field that only
 * some kernels have (guarded with bpf_core_field_exists).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct sock_common {
	unsigned short skc_family;
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	unsigned short skc_num;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u8 sk_kern_sock : 1;
	__u8 sk_no_check_tx : 1;
	__u16 sk_protocol;
	__u16 sk_type;
	unsigned int sk_rcvbuf;
	int sk_this_field_does_not_exist;
} __attribute__((preserve_access_index));

struct sk_buff {
	unsigned int len;
	__u8 pkt_type : 3;
	__u16 protocol;
} __attribute__((preserve_access_index));

/* Only declared so bpf_core_type_exists() has something to ask about. */
struct bpf_struct_ops_tcp_congestion_ops {
	int dummy;
} __attribute__((preserve_access_index));

enum sock_type {
	SOCK_STREAM = 1,
	SOCK_DGRAM = 2,
	SOCK_RAW = 3,
};

enum skb_drop_reason {
	SKB_DROP_REASON_NOT_SPECIFIED = 2,
	SKB_DROP_REASON_NO_SOCKET = 3,
};

struct conn_info {
	__u32 saddr;
	__u32 daddr;
	__u16 dport;
	__u16 lport;
	__u16 proto;
	__u8 kern_sock;
	__u8 rcvbuf_size;	/* bytes of sk_rcvbuf in this kernel */
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct conn_info);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} pkt_types SEC(".maps");

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(trace_connect, struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct conn_info ci = {};

	ci.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	ci.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	ci.dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	ci.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ci.proto = BPF_CORE_READ(sk, sk_protocol);
	ci.kern_sock = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_kern_sock);
	ci.rcvbuf_size = bpf_core_field_size(sk->sk_rcvbuf);

	if (bpf_core_field_exists(sk->sk_this_field_does_not_exist))
		ci.flags |= 1;
	if (bpf_core_type_exists(struct bpf_struct_ops_tcp_congestion_ops))
		ci.flags |= 2;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NO_SOCKET))
		ci.flags |= 4;
	if (BPF_CORE_READ(sk, sk_type) == bpf_core_enum_value(enum sock_type, SOCK_STREAM))
		ci.flags |= 8;

	bpf_map_update_elem(&conns, &id, &ci, BPF_ANY);
	return 0;
}

SEC("kprobe/kfree_skb_partial")
int BPF_KPROBE(trace_kfree_skb, struct sk_buff *skb)
{
	__u32 type = BPF_CORE_READ_BITFIELD_PROBED(skb, pkt_type);
	__u64 *cnt = bpf_map_lookup_elem(&pkt_types, &type);

	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
