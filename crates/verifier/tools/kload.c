/* kload: load raw eBPF bytecode into the running kernel and print the
 * verifier's log. A development oracle for oxbpf's verifier tests.
 *
 * usage: kload PROG_TYPE LOG_LEVEL FILE.bin [MAP ...]
 *   MAP is TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS[:LOCK_OFF[:TIMER_OFF]]]
 *   (an offset of -1 means none; with either, the map gets BTF describing
 *   its value: a struct with a bpf_spin_lock / bpf_timer member there);
 *   `lddw rX, map_fd`
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

/* BTF for a map value with special fields: int key, struct bpf_spin_lock
 * (4 bytes), struct bpf_timer (16 bytes), and the value struct. */
static int value_btf(unsigned key_size, unsigned value_size, int lock_off,
		     int timer_off)
{
	static const char strs[] = "\0int\0bpf_spin_lock\0bpf_timer\0val\0l\0t";
	enum { S_INT = 1, S_LOCK = 5, S_TIMER = 19, S_VAL = 29, S_L = 33, S_T = 35 };
	unsigned types[64], n = 0;
	/* [1] int of the key's size */
	types[n++] = S_INT; types[n++] = (1u << 24); types[n++] = key_size;
	types[n++] = (1u << 24) | (key_size * 8);
	/* [2] struct bpf_spin_lock, [3] struct bpf_timer: opaque */
	types[n++] = S_LOCK; types[n++] = (4u << 24); types[n++] = 4;
	types[n++] = S_TIMER; types[n++] = (4u << 24); types[n++] = 16;
	/* [4] struct val */
	unsigned vlen = (lock_off >= 0) + (timer_off >= 0);
	types[n++] = S_VAL; types[n++] = (4u << 24) | vlen; types[n++] = value_size;
	if (lock_off >= 0) {
		types[n++] = S_L; types[n++] = 2; types[n++] = lock_off * 8;
	}
	if (timer_off >= 0) {
		types[n++] = S_T; types[n++] = 3; types[n++] = timer_off * 8;
	}
	static unsigned char blob[1024];
	unsigned hdr[6] = { 0x0001eB9F, 24, 0, n * 4, n * 4, sizeof(strs) };
	memcpy(blob, hdr, 24);
	memcpy(blob + 24, types, n * 4);
	memcpy(blob + 24 + n * 4, strs, sizeof(strs));
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.btf = (unsigned long)blob;
	a.btf_size = 24 + n * 4 + sizeof(strs);
	return sys_bpf(BPF_BTF_LOAD, &a);
}

/* With KLOAD_FUNC_INFO set: program BTF naming every subprogram (the
 * kernel wants func_info once a program takes a function's address). The
 * subprograms start at 0 and at the targets of local calls and of
 * function-address lddw; each is a static `int fN(void)`. */
static int prog_btf(const struct bpf_insn *insns, size_t n, unsigned *starts,
		    unsigned *nstarts)
{
	unsigned cnt = 0;
	starts[cnt++] = 0;
	for (size_t i = 0; i < n; i++) {
		long t = -1;
		if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 1)
			t = (long)i + 1 + insns[i].imm;
		if (insns[i].code == (BPF_LD | BPF_DW | BPF_IMM) && insns[i].src_reg == 4)
			t = (long)i + 1 + insns[i].imm;
		if (t > 0 && cnt < 64) {
			unsigned seen = 0;
			for (unsigned k = 0; k < cnt; k++)
				seen |= starts[k] == (unsigned)t;
			if (!seen)
				starts[cnt++] = t;
		}
	}
	for (unsigned a = 0; a < cnt; a++)	/* sort */
		for (unsigned b = a + 1; b < cnt; b++)
			if (starts[b] < starts[a]) {
				unsigned x = starts[a]; starts[a] = starts[b]; starts[b] = x;
			}
	*nstarts = cnt;
	static char strs[512];
	unsigned slen = 0;
	strs[slen++] = 0;
	memcpy(strs + slen, "int", 4); slen += 4;
	static unsigned types[512];
	unsigned t = 0;
	types[t++] = 1; types[t++] = 1u << 24; types[t++] = 4; types[t++] = (1u << 24) | 32;
	types[t++] = 0; types[t++] = 13u << 24; types[t++] = 1;	/* [2] int (void) */
	for (unsigned k = 0; k < cnt; k++) {	/* [3 + k] static fK */
		unsigned name = slen;
		slen += sprintf(strs + slen, "f%u", k) + 1;
		types[t++] = name; types[t++] = 12u << 24; types[t++] = 2;
	}
	static unsigned char blob[4096];
	unsigned hdr[6] = { 0x0001eB9F, 24, 0, t * 4, t * 4, slen };
	memcpy(blob, hdr, 24);
	memcpy(blob + 24, types, t * 4);
	memcpy(blob + 24 + t * 4, strs, slen);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.btf = (unsigned long)blob;
	a.btf_size = 24 + t * 4 + slen;
	return sys_bpf(BPF_BTF_LOAD, &a);
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
		int lock_off = -1, timer_off = -1;
		if (sscanf(argv[i], "%u:%u:%u:%u:%u:%d:%d", &t, &ks, &vs, &me, &fl,
			   &lock_off, &timer_off) < 4) {
			fprintf(stderr, "bad map %s\n", argv[i]);
			return 2;
		}
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.map_type = t; a.key_size = ks; a.value_size = vs;
		a.max_entries = me; a.map_flags = fl;
		if (lock_off >= 0 || timer_off >= 0) {
			int bfd = value_btf(ks, vs, lock_off, timer_off);
			if (bfd < 0) { fprintf(stderr, "btf_load: %s\n", strerror(errno)); return 2; }
			a.btf_fd = bfd; a.btf_key_type_id = 1; a.btf_value_type_id = 4;
		}
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
	static unsigned finfo[128];
	char *btf_file = getenv("KLOAD_BTF_FILE"), *fi_file = getenv("KLOAD_FUNC_INFO_FILE");
	if (btf_file && fi_file) {
		/* Program BTF and func info made by the caller (global functions
		 * with real prototypes). */
		static unsigned char blob[65536];
		FILE *bf = fopen(btf_file, "rb"), *ff = fopen(fi_file, "rb");
		if (!bf || !ff) { perror("btf files"); return 2; }
		size_t bl = fread(blob, 1, sizeof(blob), bf);
		size_t fl = fread(finfo, 1, sizeof(finfo), ff);
		fclose(bf); fclose(ff);
		union bpf_attr b;
		memset(&b, 0, sizeof(b));
		b.btf = (unsigned long)blob;
		b.btf_size = bl;
		b.btf_log_buf = (unsigned long)log_buf;
		b.btf_log_size = sizeof(log_buf);
		b.btf_log_level = 1;
		int bfd = sys_bpf(BPF_BTF_LOAD, &b);
		if (bfd < 0) { fprintf(stderr, "btf load: %s\n%s", strerror(errno), log_buf); return 2; }
		log_buf[0] = 0;
		a.prog_btf_fd = bfd;
		a.func_info = (unsigned long)finfo;
		a.func_info_rec_size = 8;
		a.func_info_cnt = fl / 8;
	} else if (getenv("KLOAD_FUNC_INFO")) {
		unsigned starts[64], cnt = 0;
		int bfd = prog_btf(insns, n, starts, &cnt);
		if (bfd < 0) { fprintf(stderr, "prog btf: %s\n", strerror(errno)); return 2; }
		for (unsigned k = 0; k < cnt; k++) {
			finfo[2 * k] = starts[k];
			finfo[2 * k + 1] = 3 + k;
		}
		a.prog_btf_fd = bfd;
		a.func_info = (unsigned long)finfo;
		a.func_info_rec_size = 8;
		a.func_info_cnt = cnt;
	}
	int fd = sys_bpf(BPF_PROG_LOAD, &a);
	int err = errno;
	fputs(log_buf, stdout);
	if (fd >= 0) printf("VERDICT accept\n");
	else printf("VERDICT reject %d\n", err);
	return 0;
}
