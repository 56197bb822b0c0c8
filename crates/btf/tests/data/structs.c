// Structs: nesting, anonymous members, self-reference, arrays, xdp context.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct list_node {
	struct list_node *next, *prev;
	int value;
};

struct point { int x, y; };

struct shape {
	char name[16];
	struct point corners[4];
	struct point *center;
	union {
		int radius;
		struct { short w, h; };
	};
	struct {
		unsigned long long created;
		unsigned long long updated;
	} times;
	int matrix[2][3];
	struct list_node link;
	struct opaque *hidden;
	union opaque_u *hidden_u;
	char tail[];
};

struct empty {};

struct shape g_shape;
struct list_node g_list;
struct empty g_empty;

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	g_shape.radius = ctx->data_end - ctx->data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
