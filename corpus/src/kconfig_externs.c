// SPDX-License-Identifier: GPL-2.0
/* .kconfig externs resolved by the loader from /proc/config.gz and uname:
 * LINUX_KERNEL_VERSION, CONFIG_HZ (int), boolean/tristate options, a
 * string option, and a __weak extern that may be missing (reads as 0).
 * The program converts jiffies deltas to nanoseconds with CONFIG_HZ.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* enum libbpf_tristate (TRI_NO/TRI_YES/TRI_MODULE) comes from bpf_helpers.h */
extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_LSM __kconfig __weak;
extern enum libbpf_tristate CONFIG_IPV6 __kconfig __weak;
extern char CONFIG_LOCALVERSION[16] __kconfig __weak;
extern int CONFIG_OXBPF_DOES_NOT_EXIST __kconfig __weak;
extern bool CONFIG_HAVE_EBPF_JIT __kconfig __weak;

__u64 last_jiffies;
__u64 ns_per_jiffy;
__u32 features;

SEC("tracepoint/timer/timer_expire_entry")
int kconfig_probe(void *ctx)
{
	__u64 now = bpf_jiffies64();

	if (CONFIG_HZ > 0)
		ns_per_jiffy = 1000000000ULL / CONFIG_HZ;
	last_jiffies = now;

	features = 0;
	if (LINUX_KERNEL_VERSION >= ((5 << 16) | (8 << 8)))
		features |= 1;		/* ring buffer era */
	if (CONFIG_BPF_SYSCALL)
		features |= 2;
	if (CONFIG_BPF_LSM == TRI_YES)
		features |= 4;
	if (CONFIG_IPV6 != TRI_NO)
		features |= 8;
	if (CONFIG_LOCALVERSION[0] != '\0')
		features |= 16;
	if (CONFIG_OXBPF_DOES_NOT_EXIST)
		features |= 32;
	if (CONFIG_HAVE_EBPF_JIT)
		features |= 64;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
