// SPDX-License-Identifier: GPL-2.0
/* SEC("syscall") program (BPF_PROG_TYPE_SYSCALL, sleepable, run with
 * BPF_PROG_RUN from user space, as light skeletons do): reads its argument
 * struct from the context, copies a user buffer with
 * bpf_copy_from_user() and updates a map; it can also issue bpf(2)
 * commands itself through bpf_sys_bpf().
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
	__u64 user_buf;		/* user pointer */
	__u32 buf_len;
	__u32 key;
	__s32 map_fd_out;
	__s32 err;
};

struct blob {
	char data[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct blob);
} config_blobs SEC(".maps");

SEC("syscall")
int load_config(struct args *ctx)
{
	struct blob b = {};
	union bpf_attr attr = {};
	__u32 len = ctx->buf_len, key;

	if (len > sizeof(b.data))
		len = sizeof(b.data);
	if (bpf_copy_from_user(b.data, len, (void *)ctx->user_buf)) {
		ctx->err = -14;	/* EFAULT */
		return 0;
	}
	key = ctx->key;
	ctx->err = bpf_map_update_elem(&config_blobs, &key, &b, BPF_ANY);

	/* Create a scratch array map on behalf of the caller. */
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 16;
	ctx->map_fd_out = bpf_sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
