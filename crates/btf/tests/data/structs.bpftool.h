#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

struct point {
	int x;
	int y;
};

struct list_node {
	struct list_node *next;
	struct list_node *prev;
	int value;
};

struct opaque;

union opaque_u;

struct shape {
	char name[16];
	struct point corners[4];
	struct point *center;
	union {
		int radius;
		struct {
			short w;
			short h;
		};
	};
	struct {
		unsigned long long created;
		unsigned long long updated;
	} times;
	int matrix[2][3];
	struct list_node link;
	struct opaque *hidden;
	union opaque_u *hidden_u;
	char tail[0];
};

struct empty {};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
