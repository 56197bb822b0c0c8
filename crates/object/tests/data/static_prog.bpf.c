// SPDX-License-Identifier: GPL-2.0
/* A static entry point, which libbpf refuses ("program is static"). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
static int hidden_entry(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int visible(struct xdp_md *ctx)
{
	return hidden_entry(ctx);
}

char LICENSE[] SEC("license") = "GPL";
