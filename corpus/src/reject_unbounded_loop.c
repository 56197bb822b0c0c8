// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: a loop whose trip count comes from a map value with no
 * upper bound; the verifier has to walk every iteration and gives up.
 * Expected kernel error: "BPF program is too large. Processed 1000001 insn"
 * (E2BIG).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cfg SEC(".maps");

__u64 acc;

SEC("tracepoint/syscalls/sys_enter_getpid")
int spin(void *ctx)
{
	__u32 zero = 0, i;
	__u64 *n = bpf_map_lookup_elem(&cfg, &zero);

	if (!n)
		return 0;
	for (i = 0; i < *n; i++)	/* no constant bound */
		acc += i * 2654435761U;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
