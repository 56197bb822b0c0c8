// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: calls a helper while holding a bpf_spin_lock.
 * Expected kernel error: "function calls are not allowed while holding a lock".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct val {
	struct bpf_spin_lock lock;
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct val);
} m SEC(".maps");

SEC("tc")
int tc_lock_then_call(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct val *v = bpf_map_lookup_elem(&m, &zero);

	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->ts = bpf_ktime_get_ns();	/* helper call under the lock */
	bpf_spin_unlock(&v->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
