// mcpu: v2 v3
// Map references and global data: lddw of BTF-defined maps (relocated
// against the map symbol), of .data, .bss and .rodata variables, helper
// calls on them.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, int);
	__type(value, long);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, long);
} totals SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, unsigned long long flags) = (void *)2;

long seen = 1;
long dropped;
const volatile long limit = 100;

SEC("xdp") int maps(struct xdp_md *ctx)
{
	int key = ctx->ingress_ifindex & 15, zero = 0;
	long one = 1, *v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	long *t = bpf_map_lookup_elem(&totals, &zero);
	if (t && *t > limit) {
		dropped++;
		return XDP_DROP;
	}
	seen++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
