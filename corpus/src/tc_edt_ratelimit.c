// SPDX-License-Identifier: GPL-2.0
/* tc egress EDT (earliest departure time) rate limiter, as used with the
 * fq qdisc: per-class token state lives in a hash map whose value embeds a
 * struct bpf_spin_lock; skb->tstamp is pushed into the future to pace.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define NSEC_PER_SEC 1000000000ULL
#define DROP_HORIZON (2ULL * NSEC_PER_SEC)

struct rate_state {
	struct bpf_spin_lock lock;
	__u64 rate_bps;		/* bytes per second */
	__u64 t_last;		/* departure time of the last packet */
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);		/* skb->mark selects the class */
	__type(value, struct rate_state);
} rates SEC(".maps");

SEC("tc")
int tc_edt_pace(struct __sk_buff *skb)
{
	__u32 class = skb->mark;
	struct rate_state *st;
	__u64 now, delay, t_next, tstamp, len = skb->len;

	st = bpf_map_lookup_elem(&rates, &class);
	if (!st || !st->rate_bps)
		return TC_ACT_OK;

	now = bpf_ktime_get_ns();
	tstamp = skb->tstamp;
	if (tstamp < now)
		tstamp = now;
	delay = len * NSEC_PER_SEC / st->rate_bps;

	bpf_spin_lock(&st->lock);
	t_next = st->t_last + delay;
	if (t_next <= tstamp) {
		st->t_last = tstamp;
		bpf_spin_unlock(&st->lock);
		return TC_ACT_OK;
	}
	if (t_next - now >= DROP_HORIZON) {
		st->dropped++;
		bpf_spin_unlock(&st->lock);
		return TC_ACT_SHOT;
	}
	st->t_last = t_next;
	bpf_spin_unlock(&st->lock);

	skb->tstamp = t_next;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
