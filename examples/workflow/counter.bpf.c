// The program of the seed workflow (bpftool prog load / map dump / map
// update): an XDP program counting its runs in a per-CPU array, and
// remembering up to four "flows" in a hash map so that a fifth
// `map update` gives E2BIG. It does not read its context, so it also runs
// on a raw context (oxbpf::Program::run_raw).
//
// Build (the committed counter.bpf.o came from exactly this line):
//   clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
//     -c counter.bpf.c -o counter.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
	__u32 packets;
	__u16 port;
	__u8 proto;
	__u8 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct flow);
} flows SEC(".maps");

SEC("xdp")
int count_runs(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&counters, &key);

	if (n)
		*n += 1;
	return XDP_PASS;
}

SEC("xdp")
int hello(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *n = bpf_map_lookup_elem(&counters, &key);

	if (n)
		*n += 1;
	bpf_printk("hello world %d", 42);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
