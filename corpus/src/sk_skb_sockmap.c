// SPDX-License-Identifier: GPL-2.0
/* sockmap proxy: an sk_skb stream parser frames a length-prefixed protocol
 * and the stream verdict program redirects each message to the peer
 * socket in a SOCKHASH (bpf_sk_redirect_hash); an sk_msg program does the
 * same for sendmsg() with bpf_msg_redirect_hash.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct sock_key {
	__u32 sip;
	__u32 dip;
	__u32 sport;
	__u32 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65535);
	__type(key, struct sock_key);
	__type(value, __u64);
} sock_ops_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} pair SEC(".maps");

SEC("sk_skb/stream_parser")
int sk_parser(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	__u32 *hdr = data;

	/* 4-byte big-endian length prefix; ask for more data if short. */
	if ((void *)(hdr + 1) > data_end)
		return skb->len;
	return bpf_ntohl(*hdr) + sizeof(*hdr);
}

SEC("sk_skb/stream_verdict")
int sk_verdict(struct __sk_buff *skb)
{
	struct sock_key key = {
		.sip = skb->remote_ip4,
		.dip = skb->local_ip4,
		.sport = bpf_ntohl(skb->remote_port) >> 16,
		.dport = skb->local_port,
	};

	/* Redirect to the socket registered for the reverse direction. */
	return bpf_sk_redirect_hash(skb, &sock_ops_map, &key, BPF_F_INGRESS);
}

SEC("sk_msg")
int sk_msg_redir(struct sk_msg_md *msg)
{
	__u32 idx = msg->local_port & 1;

	if (msg->size < 4)
		return SK_PASS;
	return bpf_msg_redirect_map(msg, &pair, idx ^ 1, BPF_F_INGRESS);
}

SEC("sockops")
int sockops_register(struct bpf_sock_ops *skops)
{
	struct sock_key key;

	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		if (skops->family != 2 /* AF_INET */)
			break;
		key.sip = skops->local_ip4;
		key.dip = skops->remote_ip4;
		key.sport = skops->local_port;
		key.dport = bpf_ntohl(skops->remote_port) >> 16;
		bpf_sock_hash_update(skops, &sock_ops_map, &key, BPF_NOEXIST);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
