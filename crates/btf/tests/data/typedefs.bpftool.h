#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int u32_t;

typedef u32_t my_u32;

typedef const my_u32 cmy_u32;

typedef int (*binop_t)(int, int);

typedef void (*cb_t)(void *, const char *, ...);

typedef volatile cmy_u32 cv_u32;

struct pair {
	int a;
	int b;
};

typedef struct pair pair_t;

typedef pair_t pairs_t[3];

typedef char *strings_t[4];

struct ops {
	binop_t add;
	int (*mul)(int, int);
	void (*handlers[2])(void);
	int * (*getter)(const void *);
	cb_t log;
	char *(* (*nested)(int))[8];
	volatile const int * restrict cvp;
	int * const cp;
	const char * const *names;
	cv_u32 counter;
	pairs_t pairs;
	strings_t strs;
	const pair_t *cpair;
	volatile long long vll[2];
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
