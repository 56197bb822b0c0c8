// Bitfields, packed and over-aligned layouts.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flags {
	unsigned int a : 1;
	unsigned int b : 3;
	int c : 5;
	unsigned long long d : 40;
	unsigned char e;
	unsigned short f : 7;
};

union bits {
	unsigned int raw;
	struct { unsigned int lo : 16, hi : 16; };
	unsigned char x : 4;
};

struct packed_s {
	char c;
	int i;
	long long l;
} __attribute__((packed));

struct aligned_s {
	char c;
	int i __attribute__((aligned(16)));
} __attribute__((aligned(32)));

struct holes {
	char a;
	long long b;
	char c;
	int : 0;
	char d;
};

struct flags g_flags;
union bits g_bits;
struct packed_s g_packed;
struct aligned_s g_aligned;
struct holes g_holes;

SEC("socket")
int prog(void *ctx)
{
	g_flags.b = 5;
	return g_bits.hi + g_packed.i;
}

char LICENSE[] SEC("license") = "GPL";
