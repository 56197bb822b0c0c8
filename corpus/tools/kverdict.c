// SPDX-License-Identifier: MIT
/* kverdict: ask the running kernel whether it accepts each program of a BPF
 * ELF object, and print the answer as JSON on stdout.
 *
 *   kverdict OBJ.o
 *
 * Strategy:
 *  1. libbpf (the system libbpf, same as bpftool) opens the object and loads
 *     every program at once.  If that works every program is "accepted".
 *  2. Otherwise every program is loaded alone (autoload off for the others)
 *     so that each gets its own verdict and verifier error line.
 *  3. Objects libbpf >= 1.0 refuses to open (legacy SEC("maps") map
 *     definitions, program sections with no function symbols) go through a
 *     small raw loader: libelf + bpf(2), iproute2 style, one program per
 *     executable section, map relocations only.
 *
 * Used by corpus/build.sh and scripts/fetch-external-corpus.sh; nothing here
 * is needed at test time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <dirent.h>
#include <sys/stat.h>

static char *logbuf;
static char pin_dir[64];

/* Maps with LIBBPF_PIN_BY_NAME would be pinned under /sys/fs/bpf and reused
 * by later loads; give every run a private pin directory and empty it (bpffs refuses names with a dot). */
static void pin_dir_clean(void)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", pin_dir, e->d_name);
			unlink(p);
		}
	closedir(d);
}

static struct bpf_object *open_obj(const char *path)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);

	pin_dir_clean();
	return bpf_object__open_file(path, &oo);
}
static size_t loglen, logcap;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *tmp = NULL;
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vasprintf(&tmp, fmt, ap);
	if (n < 0)
		return 0;
	if (loglen + n + 1 > logcap) {
		logcap = (loglen + n + 1) * 2;
		logbuf = realloc(logbuf, logcap);
	}
	memcpy(logbuf + loglen, tmp, n);
	loglen += n;
	logbuf[loglen] = 0;
	free(tmp);
	return 0;
}

static void log_reset(void)
{
	loglen = 0;
	if (logbuf)
		logbuf[0] = 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Pick the line that says why the load failed.  For verifier rejections
 * that is the last line before "processed N insns" (or the last line of
 * the verifier log); otherwise the first libbpf line that looks like an
 * error. */
static void error_line(const char *log, char *out, size_t outsz)
{
	const char *begin = strstr(log, "-- BEGIN PROG LOAD LOG --");
	const char *end = begin ? strstr(begin, "-- END PROG LOAD LOG --") : NULL;
	char best[1024] = "";

	out[0] = 0;
	if (begin && end) {
		const char *p = strchr(begin, '\n');
		int inblock = 0;

		/* The error block is what follows the last instruction line
		 * ("N: (op) ..." or "; source") before "processed ...". */
		for (p = p ? p + 1 : end; p < end;) {
			const char *nl = memchr(p, '\n', end - p);
			size_t n = (nl ? nl : end) - p;
			const char *q = p;

			while (q < p + n && *q >= '0' && *q <= '9')
				q++;
			if (!strncmp(p, "processed ", 10))
				break;
			if ((q > p && *q == ':') || *p == ';' || !strncmp(p, "from ", 5) ||
			    !strncmp(p, "func#", 5) || !strncmp(p, "Func#", 5) ||
			    !strncmp(p, "Validating ", 11) || !strncmp(p, "mark_precise", 12) ||
			    !strncmp(p, "last_idx", 8) || !strncmp(p, "regs=", 5) ||
			    !strncmp(p, "verification time", 17) || !strncmp(p, "stack depth", 11)) {
				inblock = 0;
			} else if (n > 0) {
				if (!inblock) {
					if (n >= sizeof(best))
						n = sizeof(best) - 1;
					memcpy(best, p, n);
					best[n] = 0;
					inblock = 1;
				}
			}
			if (!nl)
				break;
			p = nl + 1;
		}
		if (best[0]) {
			snprintf(out, outsz, "%s", best);
			return;
		}
	}
	/* No verifier log: first libbpf complaint. */
	for (const char *p = log; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n && !memmem(p, n, "Retrying", 8) && (strstr(p, "fail") || strstr(p, "error") ||
			  strstr(p, "invalid") || strstr(p, "not supported") ||
			  strstr(p, "unsupported") || strstr(p, "unknown") ||
			  strstr(p, "Error"))) {
			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, p, n);
			out[n] = 0;
			if (!(nl && memmem(p, n, "failed to load object", 21)))
				return;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (!out[0] && log) {
		size_t n = strcspn(log, "\n");

		if (n >= outsz)
			n = outsz - 1;
		memcpy(out, log, n);
		out[n] = 0;
	}
}

static const char *errname(int err)
{
	static char buf[32];

	switch (err < 0 ? -err : err) {
	case 0: return "0";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case E2BIG: return "E2BIG";
	case ENOSPC: return "ENOSPC";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case ENOTSUP: return "ENOTSUP";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case ESPIPE: return "ESPIPE";
	case EEXIST: return "EEXIST";
	default:
		snprintf(buf, sizeof(buf), "%d", err < 0 ? -err : err);
		return buf;
	}
}

struct pinfo {
	char name[256];
	char sec[256];
	int verdict;		/* 1 accepted, 0 rejected, -1 not attempted */
	int err;
	size_t insns;
	char line[1024];
};

static int run_libbpf(const char *path)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	struct pinfo *pi = NULL;
	int n = 0, i, err, all_ok;
	char line[1024];

	log_reset();
	obj = open_obj(path);
	if (!obj || libbpf_get_error(obj))
		return -1;
	bpf_object__for_each_program(prog, obj) {
		pi = realloc(pi, sizeof(*pi) * (n + 1));
		memset(&pi[n], 0, sizeof(*pi));
		snprintf(pi[n].name, sizeof(pi[n].name), "%s", bpf_program__name(prog));
		snprintf(pi[n].sec, sizeof(pi[n].sec), "%s", bpf_program__section_name(prog));
		pi[n].verdict = -1;
		n++;
	}
	if (n == 0) {
		/* BTF-only / data-only object: nothing to load. */
		bpf_object__close(obj);
		printf("{\n  \"loader\": \"libbpf %s\",\n  \"object_verdict\": \"no_programs\",\n  \"maps\": [],\n  \"programs\": []\n}\n",
		       libbpf_version_string());
		return 0;
	}
	err = bpf_object__load(obj);
	all_ok = !err;
	if (all_ok) {
		i = 0;
		bpf_object__for_each_program(prog, obj) {
			pi[i].verdict = 1;
			pi[i].insns = bpf_program__insn_cnt(prog);
			i++;
		}
	}

	printf("{\n  \"loader\": \"libbpf %s\",\n", libbpf_version_string());
	printf("  \"object_verdict\": \"%s\",\n", all_ok ? "accepted" : "rejected");
	if (!all_ok) {
		error_line(logbuf ? logbuf : "", line, sizeof(line));
		printf("  \"object_error\": ");
		json_str(line);
		printf(",\n  \"object_errno\": \"%s\",\n", errname(err));
	}
	printf("  \"maps\": [");
	i = 0;
	bpf_object__for_each_map(map, obj) {
		printf("%s\n    {\"name\": ", i++ ? "," : "");
		json_str(bpf_map__name(map));
		printf(", \"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, \"max_entries\": %u, \"map_flags\": %u, \"internal\": %s}",
		       libbpf_bpf_map_type_str(bpf_map__type(map)) ?: "unknown",
		       bpf_map__key_size(map), bpf_map__value_size(map),
		       bpf_map__max_entries(map), bpf_map__map_flags(map),
		       bpf_map__is_internal(map) ? "true" : "false");
	}
	printf("%s],\n", i ? "\n  " : "");
	bpf_object__close(obj);

	if (!all_ok) {
		/* Load each program on its own. */
		for (i = 0; i < n; i++) {
			int j = 0;

			log_reset();
			obj = open_obj(path);
			if (!obj || libbpf_get_error(obj))
				break;
			bpf_object__for_each_program(prog, obj)
				bpf_program__set_autoload(prog, j++ == i);
			err = bpf_object__load(obj);
			pi[i].verdict = !err;
			pi[i].err = err;
			if (err) {
				error_line(logbuf ? logbuf : "", pi[i].line, sizeof(pi[i].line));
			} else {
				j = 0;
				bpf_object__for_each_program(prog, obj)
					if (j++ == i)
						pi[i].insns = bpf_program__insn_cnt(prog);
			}
			bpf_object__close(obj);
		}
	}

	printf("  \"programs\": [");
	for (i = 0; i < n; i++) {
		printf("%s\n    {\"name\": ", i ? "," : "");
		json_str(pi[i].name);
		printf(", \"section\": ");
		json_str(pi[i].sec);
		printf(", \"kernel_verdict\": \"%s\"",
		       pi[i].verdict == 1 ? "accepted" : pi[i].verdict == 0 ? "rejected" : "unknown");
		if (pi[i].verdict == 1)
			printf(", \"loaded_insns\": %zu", pi[i].insns);
		if (pi[i].verdict == 0) {
			printf(", \"kernel_errno\": \"%s\", \"kernel_error\": ", errname(pi[i].err));
			json_str(pi[i].line);
		}
		printf("}");
	}
	printf("%s]\n}\n", n ? "\n  " : "");
	free(pi);
	return 0;
}

/* ---- raw loader for objects libbpf 1.x will not open ---- */

struct legacy_map_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct rawmap {
	char name[128];
	size_t off;
	struct legacy_map_def def;
	int fd;
};

static int run_raw(const char *path, const char *libbpf_err)
{
	int fd = open(path, O_RDONLY), i, j, nprogs = 0, nmaps = 0, all_ok = 1;
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	Elf_Data *symtab = NULL, *maps_data = NULL;
	int symtab_strndx = 0, maps_idx = -1;
	char license[128] = "GPL";
	struct rawmap maps[64];
	char *progs_json = NULL;
	size_t pj_len = 0;
	FILE *pj = open_memstream(&progs_json, &pj_len);

	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		gelf_getshdr(scn, &sh);
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = elf_getdata(scn, NULL);
			symtab_strndx = sh.sh_link;
		} else if (name && !strcmp(name, "maps")) {
			maps_data = elf_getdata(scn, NULL);
			maps_idx = elf_ndxscn(scn);
		} else if (name && !strcmp(name, "license")) {
			Elf_Data *d = elf_getdata(scn, NULL);

			snprintf(license, sizeof(license), "%.*s", (int)d->d_size, (char *)d->d_buf);
		}
	}
	/* Legacy maps: every symbol in "maps" is one struct bpf_map_def. */
	if (maps_data && symtab) {
		size_t nsyms = symtab->d_size / sizeof(Elf64_Sym);

		for (size_t s = 0; s < nsyms && nmaps < 64; s++) {
			GElf_Sym sym;

			gelf_getsym(symtab, s, &sym);
			if ((int)sym.st_shndx != maps_idx || GELF_ST_TYPE(sym.st_info) == STT_SECTION)
				continue;
			snprintf(maps[nmaps].name, sizeof(maps[nmaps].name), "%s",
				 elf_strptr(elf, symtab_strndx, sym.st_name));
			maps[nmaps].off = sym.st_value;
			memset(&maps[nmaps].def, 0, sizeof(maps[nmaps].def));
			memcpy(&maps[nmaps].def, (char *)maps_data->d_buf + sym.st_value,
			       sym.st_size < sizeof(struct legacy_map_def) ? sym.st_size : sizeof(struct legacy_map_def));
			nmaps++;
		}
	}
	for (i = 0; i < nmaps; i++) {
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = maps[i].def.map_flags);
		char nm[16];

		snprintf(nm, sizeof(nm), "%.15s", maps[i].name);
		maps[i].fd = bpf_map_create(maps[i].def.type, nm, maps[i].def.key_size,
					    maps[i].def.value_size, maps[i].def.max_entries, &mo);
	}

	/* Programs: one per non-empty executable section. */
	scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *secname;
		struct bpf_insn *insns;
		size_t cnt;
		enum bpf_prog_type ptype;
		enum bpf_attach_type atype;
		Elf_Scn *rs = NULL;
		int sidx = elf_ndxscn(scn), pfd, bad = 0;
		char why[1024] = "";
		char pname[256];

		gelf_getshdr(scn, &sh);
		if (!(sh.sh_flags & SHF_EXECINSTR) || sh.sh_size == 0)
			continue;
		secname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!strcmp(secname, ".text"))
			continue;	/* subprograms, never a program of its own */
		cnt = sh.sh_size / sizeof(struct bpf_insn);
		insns = malloc(sh.sh_size);
		memcpy(insns, elf_getdata(scn, NULL)->d_buf, sh.sh_size);
		snprintf(pname, sizeof(pname), "%s", secname);
		/* Program name: a function symbol at offset 0 if there is one. */
		if (symtab) {
			size_t nsyms = symtab->d_size / sizeof(Elf64_Sym);

			for (size_t s = 0; s < nsyms; s++) {
				GElf_Sym sym;

				gelf_getsym(symtab, s, &sym);
				if ((int)sym.st_shndx == sidx && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
				    sym.st_value == 0)
					snprintf(pname, sizeof(pname), "%s", elf_strptr(elf, symtab_strndx, sym.st_name));
			}
		}
		/* Relocations against the legacy maps section. */
		while ((rs = elf_nextscn(elf, rs))) {
			GElf_Shdr rsh;
			Elf_Data *rd;

			gelf_getshdr(rs, &rsh);
			if (rsh.sh_type != SHT_REL || (int)rsh.sh_info != sidx)
				continue;
			rd = elf_getdata(rs, NULL);
			for (size_t r = 0; r < rsh.sh_size / rsh.sh_entsize; r++) {
				GElf_Rel rel;
				GElf_Sym sym;
				size_t ii;

				gelf_getrel(rd, r, &rel);
				gelf_getsym(symtab, GELF_R_SYM(rel.r_info), &sym);
				ii = rel.r_offset / sizeof(struct bpf_insn);
				if ((int)sym.st_shndx == maps_idx && ii < cnt) {
					for (j = 0; j < nmaps; j++)
						if (maps[j].off == sym.st_value + (GELF_ST_TYPE(sym.st_info) == STT_SECTION ? (size_t)insns[ii].imm : 0))
							break;
					if (j == nmaps) {
						snprintf(why, sizeof(why), "raw loader: relocation to unknown map at insn %zu", ii);
						bad = 1;
						continue;
					}
					insns[ii].src_reg = BPF_PSEUDO_MAP_FD;
					insns[ii].imm = maps[j].fd;
				} else {
					snprintf(why, sizeof(why), "raw loader: unsupported relocation at insn %zu (symbol in section %u)", ii, sym.st_shndx);
					bad = 1;
				}
			}
		}
		if (libbpf_prog_type_by_name(secname, &ptype, &atype)) {
			ptype = BPF_PROG_TYPE_SOCKET_FILTER;
			atype = 0;
		}
		pfd = -1;
		if (!bad) {
			static char vlog[1 << 20];
			LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = atype);

			pfd = bpf_prog_load(ptype, NULL, license, insns, cnt, &po);
			if (pfd < 0) {
				int e = errno;
				LIBBPF_OPTS(bpf_prog_load_opts, po2, .expected_attach_type = atype,
					    .log_buf = vlog, .log_size = sizeof(vlog), .log_level = 1);
				char *wrapped;
				size_t wl;
				FILE *w = open_memstream(&wrapped, &wl);

				vlog[0] = 0;
				bpf_prog_load(ptype, NULL, license, insns, cnt, &po2);
				fprintf(w, "-- BEGIN PROG LOAD LOG --\n%s\n-- END PROG LOAD LOG --\n", vlog);
				fclose(w);
				error_line(wrapped, why, sizeof(why));
				free(wrapped);
				if (!why[0])
					snprintf(why, sizeof(why), "%s", strerror(e));
				bad = e;
			} else {
				close(pfd);
			}
		}
		if (bad)
			all_ok = 0;
		fprintf(pj, "%s\n    {\"name\": \"%s\", \"section\": \"%s\", \"kernel_verdict\": \"%s\"",
			nprogs++ ? "," : "", pname, secname, bad ? "rejected" : "accepted");
		if (!bad)
			fprintf(pj, ", \"loaded_insns\": %zu", cnt);
		else {
			char *esc = NULL;
			size_t el;
			FILE *ef = open_memstream(&esc, &el);
			FILE *so = stdout;

			stdout = ef;
			json_str(why);
			fflush(ef);
			stdout = so;
			fclose(ef);
			fprintf(pj, ", \"kernel_errno\": \"%s\", \"kernel_error\": %s", errname(bad), esc);
			free(esc);
		}
		fprintf(pj, "}");
		free(insns);
	}
	fclose(pj);

	printf("{\n  \"loader\": \"raw (libbpf %s refused: ", libbpf_version_string());
	{
		char l[512];
		size_t k = 0;

		for (const char *p = libbpf_err; *p && k < sizeof(l) - 1; p++)
			l[k++] = (*p == '"' || *p == '\\' || *p == '\n') ? ' ' : *p;
		l[k] = 0;
		printf("%s)\",\n", l);
	}
	printf("  \"object_verdict\": \"%s\",\n", all_ok ? "accepted" : "rejected");
	printf("  \"maps\": [");
	for (i = 0; i < nmaps; i++) {
		printf("%s\n    {\"name\": \"%s\", \"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, \"max_entries\": %u, \"map_flags\": %u, \"internal\": false}",
		       i ? "," : "", maps[i].name,
		       libbpf_bpf_map_type_str(maps[i].def.type) ?: "unknown",
		       maps[i].def.key_size, maps[i].def.value_size, maps[i].def.max_entries,
		       maps[i].def.map_flags);
		if (maps[i].fd >= 0)
			close(maps[i].fd);
	}
	printf("%s],\n", nmaps ? "\n  " : "");
	printf("  \"programs\": [%s%s]\n}\n", progs_json ? progs_json : "", nprogs ? "\n  " : "");
	free(progs_json);
	elf_end(elf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char first[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJ.o\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_fn);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/kverdict_%d", (int)getpid());
	mkdir(pin_dir, 0700);
	if (run_libbpf(argv[1]) == 0) {
		pin_dir_clean();
		rmdir(pin_dir);
		return 0;
	}
	pin_dir_clean();
	rmdir(pin_dir);
	error_line(logbuf ? logbuf : "", first, sizeof(first));
	if (run_raw(argv[1], first) == 0)
		return 0;
	fprintf(stderr, "kverdict: cannot load %s\n", argv[1]);
	return 1;
}
