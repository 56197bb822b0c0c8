// SPDX-License-Identifier: GPL-2.0
/* Global data in every flavour libbpf turns into internal maps:
 * .data, .rodata, .bss, a custom .data.* section, string literals in
 * .rodata.str1.1, a hidden global, and a static variable. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int counter = 7;
const volatile int threshold = 42;
long zeroed;
static int hits;
__hidden int secret = 3;
int custom SEC(".data.custom") = 99;
char label[8] SEC(".rodata.names") = "oxbpf";

SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
	counter++;
	hits++;
	zeroed += threshold + secret + custom + label[1];
	bpf_printk("seen %d", counter);
	return counter > threshold ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
