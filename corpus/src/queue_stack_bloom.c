// SPDX-License-Identifier: GPL-2.0
/* Key-less map types: a QUEUE of free ids (bpf_map_pop_elem /
 * bpf_map_push_elem), a STACK of recently closed ids, and a BLOOM_FILTER
 * of known-bad remote addresses checked with bpf_map_peek_elem().
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4096);
	__type(value, __u32);
} free_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 256);
	__type(value, __u32);
} recently_closed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 10000);
	__type(value, __u32);
	__uint(map_extra, 3);		/* number of hash functions */
} bad_remotes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);		/* socket cookie */
	__type(value, __u32);		/* assigned id */
} ids SEC(".maps");

__u64 bloom_hits, out_of_ids;

SEC("cgroup_skb/egress")
int assign_ids(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	__u32 remote = skb->remote_ip4, id, *have;

	if (bpf_map_peek_elem(&bad_remotes, &remote) == 0) {
		/* maybe present (false positives possible) */
		__sync_fetch_and_add(&bloom_hits, 1);
		return 0;
	}
	have = bpf_map_lookup_elem(&ids, &cookie);
	if (have)
		return 1;

	/* Prefer a recently released id (LIFO), then the free queue (FIFO). */
	if (bpf_map_pop_elem(&recently_closed, &id) &&
	    bpf_map_pop_elem(&free_ids, &id)) {
		__sync_fetch_and_add(&out_of_ids, 1);
		return 1;
	}
	bpf_map_update_elem(&ids, &cookie, &id, BPF_ANY);
	return 1;
}

SEC("cgroup/sock_release")
int release_ids(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);
	__u32 *id = bpf_map_lookup_elem(&ids, &cookie);

	if (!id)
		return 1;
	if (bpf_map_push_elem(&recently_closed, id, 0))
		/* stack full: hand it back to the queue, evicting the oldest */
		bpf_map_push_elem(&free_ids, id, BPF_EXIST);
	bpf_map_delete_elem(&ids, &cookie);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
