// SPDX-License-Identifier: GPL-2.0
/* CO-RE relocations of every kind, against local types that differ from
 * the target's (core_target.bpf.c): moved, resized and missing fields,
 * bitfields, a ___flavor, a missing type, enum values that changed. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task {
	int pid;
	int tgid;
	long state;
	unsigned int flags : 3;
	int prio : 5;
	char comm[16];
} __attribute__((preserve_access_index));

struct task___old {
	int pid;
	long old_state;
} __attribute__((preserve_access_index));

struct gone {
	int x;
} __attribute__((preserve_access_index));

enum state { RUNNING = 0, SLEEPING = 1, ZOMBIE = 4, DEAD = 8 };

SEC("kprobe/oxbpf")
int core_kinds(struct task *t)
{
	long r = 0;

	r += BPF_CORE_READ(t, tgid);                                   /* byte_off */
	r += bpf_core_field_exists(t->comm);                           /* field_exists */
	r += bpf_core_field_exists(((struct task___old *)t)->old_state); /* missing: 0 */
	r += bpf_core_field_size(t->state);                            /* byte_sz */
	r += BPF_CORE_READ_BITFIELD_PROBED(t, prio);                   /* bitfield kinds */
	r += BPF_CORE_READ_BITFIELD_PROBED(t, flags);
	r += bpf_core_type_exists(struct gone);                        /* type_exists: 0 */
	r += bpf_core_type_size(struct task);                          /* type_size */
	r += bpf_core_enum_value_exists(enum state, DEAD);             /* missing: 0 */
	r += bpf_core_enum_value(enum state, ZOMBIE);                  /* enumval_value */
	r += bpf_core_type_matches(struct task___old);                 /* type_matches */
	r += bpf_core_type_id_kernel(struct task);                     /* target_type_id */
	r += bpf_core_type_id_local(struct task);                      /* local_type_id */
	if (bpf_core_type_exists(struct gone))
		r += BPF_CORE_READ((struct gone *)t, x);               /* poisoned */
	return r;
}

SEC("xdp")
int core_ctx(struct xdp_md *ctx)
{
	/* Context fields through CO-RE, resolved against the built-in BTF. */
	return bpf_core_field_offset(ctx->ingress_ifindex) + bpf_core_field_size(ctx->data_meta);
}

char LICENSE[] SEC("license") = "GPL";
