// Typedef chains, qualifiers, function pointers, arrays of pointers.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32_t;
typedef u32_t my_u32;
typedef const my_u32 cmy_u32;
typedef volatile cmy_u32 cv_u32;
typedef int (*binop_t)(int, int);
typedef void (*cb_t)(void *ctx, const char *fmt, ...);
typedef struct pair { int a; int b; } pair_t;
typedef pair_t pairs_t[3];
typedef char *strings_t[4];

struct ops {
	binop_t add;
	int (*mul)(int a, int b);
	void (*handlers[2])(void);
	int *(*getter)(const void *);
	cb_t log;
	char *(*(*nested)(int))[8];
	const volatile int *restrict cvp;
	int *const cp;
	const char *const *names;
	cv_u32 counter;
	pairs_t pairs;
	strings_t strs;
	const pair_t *cpair;
	volatile long long vll[2];
};

struct ops g_ops;
my_u32 g_val;

static __attribute__((noinline)) int helper(u32_t x, cmy_u32 *y)
{
	return x + *y;
}

SEC("socket")
int prog(void *ctx)
{
	return helper(g_val, &g_val);
}

char LICENSE[] SEC("license") = "GPL";
