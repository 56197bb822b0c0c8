// CO-RE relocations and multiple code sections, for .BTF.ext.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task {
	int pid;
	struct {
		int uid;
		int gid;
	} cred;
	unsigned int flags : 3;
	char comm[16];
} __attribute__((preserve_access_index));

enum state { RUNNING, SLEEPING };

static __attribute__((noinline)) int get_pid(struct task *t)
{
	return BPF_CORE_READ(t, pid);
}

SEC("kprobe/do_exit")
int probe(struct task *t)
{
	int uid = BPF_CORE_READ(t, cred.uid);
	int has = bpf_core_field_exists(t->comm);
	int sz = bpf_core_type_size(struct task);
	unsigned int f = BPF_CORE_READ_BITFIELD_PROBED(t, flags);
	int e = bpf_core_enum_value(enum state, SLEEPING);
	return uid + has + sz + f + e + get_pid(t);
}

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
