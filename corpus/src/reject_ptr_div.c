// SPDX-License-Identifier: GPL-2.0
/* NEGATIVE EXAMPLE: treats a packet pointer as an integer and divides it
 * (e.g. trying to align it).  Expected kernel error:
 * "R1 pointer arithmetic with /= operator prohibited".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_ptr_div(struct xdp_md *ctx)
{
	unsigned long data = ctx->data;
	volatile unsigned long divisor = 3;

	/* Dividing the pointer value leaks/forges addresses: forbidden. */
	return (data / divisor) & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
