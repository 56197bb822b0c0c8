// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -mcpu=v3
/* The BPF atomic instruction family (needs -mcpu=v3 for the fetching
 * forms): __sync_fetch_and_add with and without using the result
 * (XADD vs ATOMIC_FETCH_ADD), __sync_fetch_and_{or,and,xor},
 * __sync_val_compare_and_swap (CMPXCHG), __sync_lock_test_and_set (XCHG),
 * and the C11 __atomic_* builtins on 32- and 64-bit words in map values
 * and globals.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct state {
	__u64 count;
	__u64 flags;
	__u64 owner;
	__u32 small_count;
	__u32 small_flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct state);
} states SEC(".maps");

__u64 ticket;
__u64 prev_owner;
__u32 contended;

SEC("tracepoint/sched/sched_wakeup")
int atomic_ops(void *ctx)
{
	__u32 key = bpf_get_smp_processor_id() & 3;
	__u64 me = bpf_get_current_pid_tgid(), old, t;
	struct state *s = bpf_map_lookup_elem(&states, &key);

	if (!s)
		return 0;

	__sync_fetch_and_add(&s->count, 1);			/* result unused */
	t = __sync_fetch_and_add(&ticket, 1);			/* fetch form */
	__sync_fetch_and_or(&s->flags, 1ULL << (t & 63));
	__sync_fetch_and_and(&s->flags, ~(1ULL << ((t + 32) & 63)));
	__sync_fetch_and_xor(&s->small_flags, 0x5a5a);

	old = __sync_val_compare_and_swap(&s->owner, 0, me);
	if (old != 0 && old != me)
		__sync_fetch_and_add(&contended, 1);

	prev_owner = __sync_lock_test_and_set(&s->owner, me);	/* xchg */

	__atomic_fetch_add(&s->small_count, 2, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&s->count, 1, __ATOMIC_SEQ_CST);
	__atomic_or_fetch(&s->small_flags, 0x100, __ATOMIC_SEQ_CST);
	__atomic_exchange_n(&s->small_count, 7, __ATOMIC_SEQ_CST);
	{
		__u32 expected = 7;

		__atomic_compare_exchange_n(&s->small_count, &expected, 8, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
