// SPDX-License-Identifier: GPL-2.0
/* cgroup/connect4 + cgroup/sendmsg4 service translation (a tiny
 * kube-proxy replacement): connects to a virtual IP:port are rewritten to
 * a backend by writing user_ip4/user_port in struct bpf_sock_addr, and
 * cgroup/getpeername4 hides the translation again.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct svc_key {
	__u32 vip;
	__u32 vport;	/* network byte order in the low 16 bits */
};

struct svc_backend {
	__u32 ip;
	__u32 port;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct svc_key);
	__type(value, struct svc_backend);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);		/* socket cookie */
	__type(value, struct svc_key);	/* original destination */
} orig_dst SEC(".maps");

static __always_inline int translate(struct bpf_sock_addr *ctx)
{
	struct svc_key key = { .vip = ctx->user_ip4, .vport = ctx->user_port };
	struct svc_backend *be = bpf_map_lookup_elem(&services, &key);
	__u64 cookie;

	if (!be)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&orig_dst, &cookie, &key, BPF_ANY);
	ctx->user_ip4 = be->ip;
	ctx->user_port = be->port;
	return 1;
}

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->type != 1 /* SOCK_STREAM */ && ctx->type != 2 /* SOCK_DGRAM */)
		return 1;
	return translate(ctx);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return translate(ctx);
}

SEC("cgroup/getpeername4")
int sock_getpeername4(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct svc_key *orig = bpf_map_lookup_elem(&orig_dst, &cookie);

	if (orig) {
		ctx->user_ip4 = orig->vip;
		ctx->user_port = orig->vport;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
