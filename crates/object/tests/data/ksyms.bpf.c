// SPDX-License-Identifier: GPL-2.0
/* __ksym externs, which oxbpf never resolves: weak ones read as 0 (kfunc
 * calls are poisoned), a strong one makes the object unloadable. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const int bpf_prog_active __ksym __weak;
extern const int strong_var __ksym;
extern int bpf_oxbpf_kfunc(int x) __ksym __weak;

SEC("socket")
int ksyms(struct __sk_buff *skb)
{
	int r = 0;

	if (&bpf_prog_active)
		r += 1;
	if (bpf_oxbpf_kfunc)
		r += bpf_oxbpf_kfunc(r);
	return r + (long)&strong_var;
}

char LICENSE[] SEC("license") = "GPL";
