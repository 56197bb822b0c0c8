// SPDX-License-Identifier: GPL-2.0
/* A map key struct with implicit padding is filled field by field, so its
 * padding bytes are uninitialised stack when the whole struct is passed to
 * the helper.  Older kernels (and unprivileged loaders) reject this with
 * "invalid indirect read from stack R2 off -16+6 size 16"; Linux 6.18
 * ACCEPTS it when the loader is privileged (CAP_PERFMON/CAP_SYS_ADMIN:
 * env->allow_uninit_stack).  The corpus verdict is the privileged one.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
	__u32 saddr;
	__u16 sport;
	/* 2 bytes of padding here */
	__u32 daddr;
	__u16 dport;
	/* and 2 more here */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow);
	__type(value, __u64);
} flows SEC(".maps");

SEC("cgroup_skb/ingress")
int count_flow(struct __sk_buff *skb)
{
	struct flow f;		/* missing: = {} or __builtin_memset */
	__u64 *v;

	f.saddr = skb->remote_ip4;
	f.daddr = skb->local_ip4;
	f.sport = skb->remote_port >> 16;
	f.dport = skb->local_port;
	v = bpf_map_lookup_elem(&flows, &f);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
