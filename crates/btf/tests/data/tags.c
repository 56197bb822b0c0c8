// decl_tag and type_tag attributes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

struct tagged {
	int a __tag("member_tag");
	int __ttag("user") *up;
	int __ttag("rcu") __ttag("percpu") *mp;
	const int __ttag("c") *cp;
} __tag("struct_tag") __tag("another");

union tagged_u {
	int x;
	long y __tag("u_member");
} __tag("union_tag");

typedef int tagged_int __tag("typedef_tag");

struct tagged g_tagged __tag("var_tag");
union tagged_u g_u;
tagged_int g_ti;

static __attribute__((noinline)) int __tag("func_tag") tagged_fn(int arg __tag("param_tag"), int __ttag("user") *p)
{
	return arg + *p;
}

SEC("socket")
int prog(void *ctx)
{
	return tagged_fn(g_tagged.a, g_tagged.up) + g_u.x + g_ti;
}

char LICENSE[] SEC("license") = "GPL";
