// SPDX-License-Identifier: GPL-2.0
// oxbpf-cflags: -mcpu=v4
/* cpu v4 long jump: a branch over more than 32767 instructions does not
 * fit the 16-bit offset of BPF_JA, so with -mcpu=v4 LLVM emits "gotol"
 * (BPF_JMP32 | BPF_JA with the offset in imm).  A large, fully unrolled
 * hash over a 32 KiB scratch buffer produces the distance; the early-exit
 * path jumps over it.  (LLVM 19 decides conservatively: it already emits
 * gotol for this ~24.6k-instruction jump, whose offset would fit in 16 bits.)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define BUF_WORDS 4096

struct scratch {
	__u64 w[BUF_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} buf SEC(".maps");

__u64 digest;
__u32 skipped;

SEC("tracepoint/syscalls/sys_enter_sync")
int long_jump(void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&buf, &zero);
	__u64 h = 0x9e3779b97f4a7c15ULL;
	int i;

	if (!s)
		return 0;
	if (s->w[0] == 0) {
		skipped++;
		goto out;	/* jumps over ~9*BUF_WORDS instructions */
	}
#pragma clang loop unroll(full)
	for (i = 0; i < BUF_WORDS; i++) {
		h ^= s->w[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	digest = h;
out:
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
