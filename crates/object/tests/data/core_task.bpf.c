// SPDX-License-Identifier: GPL-2.0
/* CO-RE the way tracing tools use it, on local copies of kernel types
 * (as vmlinux.h would give them): nested reads, a field renamed between
 * kernel versions (___flavor structs), an enum value and a type that a
 * given kernel may lack. Relocated against vmlinux (min_core_btf'd to
 * core_task.btf by regen.sh). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	int tgid;
	unsigned int __state;
	struct task_struct *real_parent;
	char comm[16];
	struct mm_struct *mm;
} __attribute__((preserve_access_index));

struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

struct mm_struct {
	unsigned long total_vm;
} __attribute__((preserve_access_index));

enum cgroup_subsys_id { cpu_cgrp_id = 0, oxbpf_cgrp_id = 99 };

SEC("kprobe/do_nanosleep")
int core_task(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	long r = 0;
	char comm[16];

	r += BPF_CORE_READ(t, real_parent, tgid);
	r += BPF_CORE_READ(t, mm, total_vm);
	BPF_CORE_READ_STR_INTO(&comm, t, comm);
	if (bpf_core_field_exists(t->__state))
		r += BPF_CORE_READ(t, __state);
	else
		r += BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
		r += bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
	r += bpf_core_enum_value_exists(enum cgroup_subsys_id, oxbpf_cgrp_id);
	r += bpf_core_type_size(struct task_struct) > 1000;
	return r + comm[0];
}

char LICENSE[] SEC("license") = "GPL";
