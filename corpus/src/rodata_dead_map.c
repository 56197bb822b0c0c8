// SPDX-License-Identifier: GPL-2.0
/* A map named only in code that a `.rodata` switch turns off: the verifier
 * never reaches that code (it reads frozen read-only data as constants),
 * yet the program still names the map, so it must hold it — Linux resolves
 * every map of a program before verifying it, and lists it in map_ids. A
 * loader that kept only the maps the verifier saw used could not reopen
 * the pinned program once the loading process is gone.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile int use_stats = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

SEC("xdp")
int xdp_dead_map(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&counts, &k);

	if (c)
		__sync_fetch_and_add(c, 1);
	if (use_stats) {
		__u64 *s = bpf_map_lookup_elem(&stats, &k);

		if (s)
			*s += (long)ctx->data_end - (long)ctx->data;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
