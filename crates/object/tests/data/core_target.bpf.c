// SPDX-License-Identifier: GPL-2.0
/* The "kernel" types core.bpf.o is relocated against in tests (its .BTF is
 * extracted to core_target.btf by regen.sh). */
struct task {
	long pad;
	int pid;
	int state;
	char comm[32];
	int tgid;
	unsigned int flags : 4;
	int prio : 7;
};

enum state { RUNNING = 0, SLEEPING = 1, ZOMBIE = 16 };

struct task *keep_task __attribute__((used));
enum state keep_state __attribute__((used));
