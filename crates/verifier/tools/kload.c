/* kload: load raw eBPF bytecode into the running kernel and print the
 * verifier's log. A development oracle for oxbpf's verifier tests.
 *
 * usage: kload PROG_TYPE LOG_LEVEL FILE.bin [MAP ...]
 *   MAP is TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]; `lddw rX, map_fd`
 *   (src 1) and map-value (src 2) instructions whose imm is K are patched to
 *   the fd of the K-th MAP. Prints the log, then `VERDICT accept` or
 *   `VERDICT reject ERRNO`.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char log_buf[16 * 1024 * 1024];

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: kload TYPE LEVEL FILE [MAP...]\n");
		return 2;
	}
	FILE *f = fopen(argv[3], "rb");
	if (!f) { perror("open"); return 2; }
	static struct bpf_insn insns[1000000];
	size_t n = fread(insns, sizeof(insns[0]), 1000000, f);
	fclose(f);
	int fds[64];
	int nmaps = 0;
	for (int i = 4; i < argc && nmaps < 64; i++) {
		unsigned t, ks, vs, me, fl = 0;
		if (sscanf(argv[i], "%u:%u:%u:%u:%u", &t, &ks, &vs, &me, &fl) < 4) {
			fprintf(stderr, "bad map %s\n", argv[i]);
			return 2;
		}
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.map_type = t; a.key_size = ks; a.value_size = vs;
		a.max_entries = me; a.map_flags = fl;
		int fd = sys_bpf(BPF_MAP_CREATE, &a);
		if (fd < 0) { fprintf(stderr, "map_create %s: %s\n", argv[i], strerror(errno)); return 2; }
		if (fl & BPF_F_RDONLY_PROG) {
			/* Read-only program maps are global .rodata: freeze them. */
			memset(&a, 0, sizeof(a));
			a.map_fd = fd;
			sys_bpf(BPF_MAP_FREEZE, &a);
		}
		fds[nmaps++] = fd;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (insns[i].code == (BPF_LD | BPF_DW | BPF_IMM)) {
			if ((insns[i].src_reg == 1 || insns[i].src_reg == 2) &&
			    insns[i].imm >= 0 && insns[i].imm < nmaps)
				insns[i].imm = fds[insns[i].imm];
			i++;
		}
	}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = atoi(argv[1]);
	a.insns = (unsigned long)insns;
	a.insn_cnt = n;
	a.license = (unsigned long)"GPL";
	a.log_level = atoi(argv[2]);
	a.log_buf = (unsigned long)log_buf;
	a.log_size = sizeof(log_buf);
	char *eat = getenv("KLOAD_ATTACH");
	if (eat) a.expected_attach_type = atoi(eat);
	/* Tracing programs (tp_btf, iter, fentry) name their target by id in
	 * the kernel's BTF. */
	char *btf_id = getenv("KLOAD_ATTACH_BTF_ID");
	if (btf_id) a.attach_btf_id = atoi(btf_id);
	int fd = sys_bpf(BPF_PROG_LOAD, &a);
	int err = errno;
	fputs(log_buf, stdout);
	if (fd >= 0) printf("VERDICT accept\n");
	else printf("VERDICT reject %d\n", err);
	return 0;
}
