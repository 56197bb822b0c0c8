// SPDX-License-Identifier: GPL-2.0
/* Map values with special fields: a struct bpf_spin_lock protecting a
 * token bucket in an ARRAY value, and a struct bpf_timer in a HASH value
 * that expires idle entries (bpf_timer_init / set_callback / start, the
 * callback deletes its own element).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1
#define IDLE_NS (30ULL * 1000000000ULL)

struct bucket {
	struct bpf_spin_lock lock;
	__u64 tokens;
	__u64 last_refill;
	__u64 rate_per_sec;
	__u64 burst;
};

struct session {
	struct bpf_timer timer;
	__u64 last_active;
	__u64 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct session);
} sessions SEC(".maps");

static int session_expire(void *map, __u32 *key, struct session *s)
{
	if (bpf_ktime_get_ns() - s->last_active >= IDLE_NS)
		bpf_map_delete_elem(map, key);
	else
		bpf_timer_start(&s->timer, IDLE_NS, 0);
	return 0;
}

static __always_inline int take_token(__u32 idx)
{
	struct bucket *b = bpf_map_lookup_elem(&buckets, &idx);
	__u64 now = bpf_ktime_get_ns(), add;
	int ok = 0;

	if (!b)
		return 1;
	bpf_spin_lock(&b->lock);
	add = (now - b->last_refill) * b->rate_per_sec / 1000000000ULL;
	if (add) {
		b->tokens += add;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_refill = now;
	}
	if (b->tokens) {
		b->tokens--;
		ok = 1;
	}
	bpf_spin_unlock(&b->lock);
	return ok;
}

SEC("cgroup_skb/ingress")
int ratelimit_sessions(struct __sk_buff *skb)
{
	__u32 key = skb->remote_ip4;
	struct session *s, init = {};

	if (!take_token(key & 63))
		return 0;

	s = bpf_map_lookup_elem(&sessions, &key);
	if (!s) {
		init.last_active = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&sessions, &key, &init, BPF_NOEXIST))
			return 1;
		s = bpf_map_lookup_elem(&sessions, &key);
		if (!s)
			return 1;
		bpf_timer_init(&s->timer, &sessions, CLOCK_MONOTONIC);
		bpf_timer_set_callback(&s->timer, session_expire);
		bpf_timer_start(&s->timer, IDLE_NS, 0);
	}
	s->last_active = bpf_ktime_get_ns();
	__sync_fetch_and_add(&s->packets, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
