#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct tagged {
	int a;
	int __attribute__((btf_type_tag("user"))) *up;
	int __attribute__((btf_type_tag("rcu"))) __attribute__((btf_type_tag("percpu"))) *mp;
	const int __attribute__((btf_type_tag("c"))) *cp;
};

union tagged_u {
	int x;
	long y;
};

typedef int tagged_int;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
