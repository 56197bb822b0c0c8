#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct flags {
	unsigned int a: 1;
	unsigned int b: 3;
	int c: 5;
	unsigned long long d: 40;
	unsigned char e;
	unsigned short f: 7;
};

union bits {
	unsigned int raw;
	struct {
		unsigned int lo: 16;
		unsigned int hi: 16;
	};
	unsigned char x: 4;
};

struct packed_s {
	char c;
	int i;
	long long l;
} __attribute__((packed));

struct aligned_s {
	char c;
	long: 64;
	int i;
	long: 64;
};

struct holes {
	char a;
	long long b;
	char c;
	int: 0;
	char d;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
