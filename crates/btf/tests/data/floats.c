// Floating-point types, bool, char signedness, and wide integers.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <stdbool.h>

struct numbers {
	float f;
	double d;
	long double ld;
	_Bool b;
	bool b2;
	char c;
	signed char sc;
	unsigned char uc;
	short s;
	unsigned short us;
	long l;
	unsigned long ul;
	__int128 i128;
	unsigned __int128 u128;
	float farr[3];
};

struct numbers g_nums;

SEC("socket")
int prog(void *ctx)
{
	return g_nums.c + g_nums.b;
}

char LICENSE[] SEC("license") = "GPL";
