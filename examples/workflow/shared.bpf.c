// A map pinned by name (libbpf's LIBBPF_PIN_BY_NAME): every load of this
// object, by any process, uses the one map pinned at $OXBPF_FS/shared_runs
// (/sys/fs/bpf/shared_runs with libbpf and the kernel).
//
// Build (the committed shared.bpf.o came from exactly this line):
//   clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
//     -c shared.bpf.c -o shared.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_runs SEC(".maps");

SEC("xdp")
int count_shared(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&shared_runs, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
