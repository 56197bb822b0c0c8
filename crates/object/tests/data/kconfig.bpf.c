// SPDX-License-Identifier: GPL-2.0
/* __kconfig externs of every kind libbpf knows, weak and strong. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_E1000 __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;
extern unsigned long long CONFIG_MISSING __kconfig __weak;

SEC("socket")
int kcfg(struct __sk_buff *skb)
{
	int r = LINUX_KERNEL_VERSION + CONFIG_HZ + CONFIG_BPF_SYSCALL +
		(CONFIG_E1000 == TRI_MODULE) + CONFIG_DEFAULT_HOSTNAME[0] +
		(int)CONFIG_MISSING + LINUX_HAS_SYSCALL_WRAPPER;
	return r;
}

char LICENSE[] SEC("license") = "GPL";
