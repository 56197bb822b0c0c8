// Enums: unsigned, signed, 64-bit, packed, anonymous.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED, GREEN = 5, BLUE };
enum temp { COLD = -10, WARM = 20, HOT = 0x7fffffff };
enum big { SMALL = 1, HUGE = 0x1234567890ULL, MAXU = 0xffffffffffffffffULL };
enum sbig { NEG_BIG = -0x123456789LL, POS_BIG = 0x123456789LL };
enum __attribute__((packed)) tiny { T0, T1, T2 = 200 };
enum { ANON_A = 7, ANON_B };

struct uses {
	enum color c;
	enum temp t;
	enum big b;
	enum sbig s;
	enum tiny y;
	int anon;
};

struct uses g_uses;
int g_anon = ANON_B;

SEC("tc")
int prog(struct __sk_buff *skb)
{
	return g_uses.c + skb->len;
}

char LICENSE[] SEC("license") = "GPL";
