// mcpu: v1 v3
// Legacy packet loads (BPF_ABS, BPF_IND) in a socket filter, through the
// load_byte/load_half/load_word builtins.
#include <linux/bpf.h>
#define SEC(s) __attribute__((section(s), used))

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket") int ldabs(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != 0x0800)
		return 0;
	unsigned long long ihl = (load_byte(skb, 14) & 0xf) * 4;
	unsigned long long proto = load_byte(skb, 23);
	unsigned long long dport = load_half(skb, 14 + ihl + 2);
	return proto == 6 && (dport == 80 || load_word(skb, 26) == 0x7f000001) ? -1 : 0;
}
