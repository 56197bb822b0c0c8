// SPDX-License-Identifier: GPL-2.0
/* Globals in custom sections: libbpf turns every ".data.<name>" and
 * ".rodata.<name>" section into its own internal array map (so they can be
 * resized or mmap()ed separately), alongside the default .data/.bss/.rodata.
 * Also a big array in its own .data.* section and a struct-typed global.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct limits {
	__u32 max_pids;
	__u32 max_rate;
	__u64 window_ns;
};

/* .rodata.limits */
const volatile struct limits limits SEC(".rodata.limits") = {
	.max_pids = 1024,
	.max_rate = 100,
	.window_ns = 1000000000ULL,
};

/* .rodata.strings */
const char banner[] SEC(".rodata.strings") = "rate-limiter";

/* .data.percpu_like: one slot per possible CPU, sized at build time */
__u64 events_per_cpu[64] SEC(".data.percpu_like");

/* .data.window */
__u64 window_start SEC(".data.window") = 0;
__u32 window_count SEC(".data.window") = 0;

/* plain .bss */
__u64 throttled;

SEC("tracepoint/syscalls/sys_enter_kill")
int throttle_kill(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 cpu = bpf_get_smp_processor_id();

	if (cpu < 64)
		events_per_cpu[cpu]++;

	if (now - window_start > limits.window_ns) {
		window_start = now;
		window_count = 0;
	}
	if (++window_count > limits.max_rate) {
		throttled++;
		bpf_printk("%s: kill rate above %u", banner, limits.max_rate);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
