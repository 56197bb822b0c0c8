// Map values of many BTF kinds, to check `oxbpf map dump` formats them as
// `bpftool map dump` does: signed and unsigned integers of every size,
// bool, char strings, arrays, nested structs, unions, enums (32 and 64
// bit), bitfields, typedefs and anonymous members. No float: bpftool
// 7.1 prints "(unsupported-kind" for one and stops the value there
// (oxbpf prints the number), so `f` is a __u32.
//
// Build (the committed types.bpf.o came from exactly this line):
//   clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
//     -c types.bpf.c -o types.bpf.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 0, GREEN = 1, BLUE = 7 };
enum big { SMALL = 1, HUGE = 0x100000000ULL };
typedef unsigned short port_t;

struct inner {
	__u8 a;
	__s8 b;
	port_t port;
};

struct value {
	__s32 neg;
	__u64 u;
	_Bool flag;
	char name[8];
	__u16 arr[3];
	struct inner in;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	} un;
	enum color c;
	enum big e64;
	__u32 bits_lo : 3, bits_hi : 5, rest : 24;
	struct {
		__u16 x;
		__u16 y;
	};
	__u32 f;
	__s64 s64;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, struct inner);
	__type(value, struct value);
} typed SEC(".maps");

SEC("xdp")
int touch(struct xdp_md *ctx)
{
	struct inner k = {};
	struct value *v = bpf_map_lookup_elem(&typed, &k);

	if (v)
		v->u++;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
