#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct inner {
	int (*type)[2];
	int (*max_entries)[1];
	int *key;
	int *value;
};

typedef unsigned int __u32;

typedef unsigned short __u16;

typedef unsigned char __u8;

struct key {
	__u32 ip;
	__u16 port;
	__u8 proto;
};

typedef unsigned long long __u64;

struct value {
	__u64 packets;
	__u64 bytes;
};

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
