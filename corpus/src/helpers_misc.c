// SPDX-License-Identifier: GPL-2.0
/* The everyday helpers: bpf_get_current_pid_tgid, uid_gid, comm,
 * cgroup id, smp_processor_id, numa_node_id, bpf_ktime_get_ns,
 * bpf_get_prandom_u32 for sampling and bpf_get_func_ip in a kprobe.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16

struct proc_info {
	__u64 first_seen_ns;
	__u64 last_seen_boot_ns;
	__u64 last_jiffies;
	__u64 cgroup_id;
	__u64 func_ip;
	__u32 uid;
	__u32 gid;
	__u32 last_cpu;
	__u32 numa_node;
	__u32 samples;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct proc_info);
} procs SEC(".maps");

const volatile __u32 sample_rate_pct = 10;

SEC("kprobe/do_sys_openat2")
int sample_opens(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), uid_gid;
	__u32 tgid = pid_tgid >> 32;
	struct proc_info *pi, init = {};

	if (bpf_get_prandom_u32() % 100 >= sample_rate_pct)
		return 0;

	pi = bpf_map_lookup_elem(&procs, &tgid);
	if (!pi) {
		init.first_seen_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&procs, &tgid, &init, BPF_NOEXIST);
		pi = bpf_map_lookup_elem(&procs, &tgid);
		if (!pi)
			return 0;
	}
	uid_gid = bpf_get_current_uid_gid();
	pi->uid = (__u32)uid_gid;
	pi->gid = uid_gid >> 32;
	pi->last_seen_boot_ns = bpf_ktime_get_boot_ns();
	pi->last_jiffies = bpf_jiffies64();
	pi->cgroup_id = bpf_get_current_cgroup_id();
	pi->last_cpu = bpf_get_smp_processor_id();
	pi->numa_node = bpf_get_numa_node_id();
	pi->func_ip = bpf_get_func_ip(ctx);
	pi->samples++;
	bpf_get_current_comm(pi->comm, sizeof(pi->comm));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
