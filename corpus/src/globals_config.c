// SPDX-License-Identifier: GPL-2.0
/* Global variables in all the standard sections: read-only configuration
 * (const volatile -> .rodata, frozen after load), initialised mutable state
 * (.data), zero-initialised counters and buffers (.bss), and a static
 * (file-local) global.  The tc program samples packets according to the
 * config and keeps statistics in globals instead of maps.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* .rodata: set by the loader before load, constant for the verifier. */
const volatile __u32 sample_every = 16;
const volatile __u32 min_len = 64;
const volatile __u8 enabled = 1;
const char version[] = "globals-1.0";

/* .data */
__u32 sample_mark = 0xcafe;
int last_verdict = -1;

/* .bss */
__u64 seen;
__u64 sampled;
__u64 too_short;
__u32 len_hist[16];
static __u64 private_counter;

SEC("tc")
int tc_sampler(struct __sk_buff *skb)
{
	__u32 bucket;

	if (!enabled)
		return TC_ACT_OK;
	__sync_fetch_and_add(&seen, 1);
	private_counter++;

	if (skb->len < min_len) {
		__sync_fetch_and_add(&too_short, 1);
		last_verdict = TC_ACT_OK;
		return TC_ACT_OK;
	}
	bucket = skb->len >> 7;
	if (bucket > 15)
		bucket = 15;
	len_hist[bucket]++;

	if (sample_every && (seen % sample_every) == 0) {
		skb->mark = sample_mark;
		__sync_fetch_and_add(&sampled, 1);
	}
	last_verdict = version[0] == 'g' ? TC_ACT_OK : TC_ACT_UNSPEC;
	return last_verdict;
}

char LICENSE[] SEC("license") = "GPL";
