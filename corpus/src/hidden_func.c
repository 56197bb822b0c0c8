// SPDX-License-Identifier: GPL-2.0
/* A global function with restricted visibility (`__hidden`), as libbpf's
 * usdt.bpf.h declares bpf_usdt_arg(): its BTF says global, but libbpf marks
 * it static in the BTF it loads, so the verifier checks it in its caller's
 * context. Verified on its own, as a real global function, its `long *res`
 * would be a nullable pointer and the unchecked store through it would be
 * refused. Also a static function whose return value no caller reads:
 * clang leaves r0 unset at its exit, which only a read in the caller may
 * refuse.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__weak __hidden int payload_len(struct xdp_md *ctx, long *res)
{
	*res = (long)ctx->data_end - (long)ctx->data;
	return 0;
}

static __noinline int note_len(long *len, long v)
{
	*len = v;
	return 1;
}

SEC("xdp")
int xdp_hidden(struct xdp_md *ctx)
{
	long len = 0, seen = 0;

	payload_len(ctx, &len);
	note_len(&seen, len);
	return seen > 60 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
