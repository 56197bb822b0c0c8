// SPDX-License-Identifier: GPL-2.0
// oxbpf-postprocess: strip-func-symbols
/* iproute2-style tc object ("tc filter add dev X ingress bpf da obj F sec
 * classifier"): struct bpf_elf_map definitions (with id/pinning/inner
 * fields) in SEC("maps"), one program per ELF section, and -- after the
 * build strips the function symbols (llvm-objcopy --strip-symbol) -- no
 * STT_FUNC symbol in the program sections at all, like objects produced
 * by old toolchains.  A loader has to treat each executable section as one
 * program named after the section.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define PIN_NONE 0
#define PIN_OBJECT_NS 1
#define PIN_GLOBAL_NS 2

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

struct bpf_elf_map SEC("maps") acc_map = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 2,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map SEC("maps") mark_map = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 64,
	.pinning = PIN_NONE,
};

static __always_inline void account(__u32 dir, __u32 len)
{
	__u64 *bytes = bpf_map_lookup_elem(&acc_map, &dir);

	if (bytes)
		__sync_fetch_and_add(bytes, len);
}

SEC("classifier")
int cls_main(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, *mark;

	account(0, skb->len);
	mark = bpf_map_lookup_elem(&mark_map, &ifindex);
	if (mark)
		skb->mark = *mark;
	return TC_ACT_OK;
}

SEC("action")
int act_main(struct __sk_buff *skb)
{
	account(1, skb->len);
	return skb->len > 1500 ? TC_ACT_SHOT : TC_ACT_OK;
}

char __license[] SEC("license") = "GPL";
