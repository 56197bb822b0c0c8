// SPDX-License-Identifier: MIT OR Apache-2.0
/* libbpf_dump: what the system libbpf makes of a BPF object, as JSON, so
 * that oxbpf-object's tests can compare against it without libbpf.
 *
 *   cc -O2 -o /tmp/libbpf_dump libbpf_dump.c -lbpf
 *   libbpf_dump OBJ.o > OBJ.libbpf.json
 *
 * The object is opened and "loaded" in libbpf's gen_loader mode, which
 * runs every relocation step (subprogram linking, map and global data
 * references, externs) without touching the kernel: map references come
 * out as BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE with the map's index,
 * which is oxbpf's spec form up to the src_reg value. CO-RE relocations are
 * not applied in this mode (the generated loader would do them in the
 * kernel). Used by crates/object/tests/data/regen.sh only.
 *
 * With ORACLE_LOAD=1 the object is loaded for real instead (root needed;
 * keep such objects' maps tiny), so that CO-RE relocations are applied,
 * against BTF_CUSTOM (a BTF file) when set, else the running kernel's BTF.
 * The instructions are dumped whether or not the kernel accepts them.
 * KCONFIG, when set, is passed as libbpf's kconfig option. With
 * ORACLE_TINY_MAPS=1 every map is shrunk before loading (one entry, one
 * page for ring buffers) so that real loads cost the kernel no memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void dump_map(const struct bpf_map *m)
{
	size_t sz = 0;
	const unsigned char *init;
	const struct bpf_map *inner;

	printf("{\"name\":");
	json_str(bpf_map__name(m));
	printf(",\"type\":%d,\"key_size\":%u,\"value_size\":%u,\"max_entries\":%u,"
	       "\"flags\":%u,\"numa_node\":%u,\"map_extra\":%llu,\"btf_key_type_id\":%u,"
	       "\"btf_value_type_id\":%u,\"pin\":%s",
	       bpf_map__type(m), bpf_map__key_size(m), bpf_map__value_size(m),
	       bpf_map__max_entries(m), bpf_map__map_flags(m), bpf_map__numa_node(m),
	       (unsigned long long)bpf_map__map_extra(m), bpf_map__btf_key_type_id(m),
	       bpf_map__btf_value_type_id(m), bpf_map__pin_path(m) ? "true" : "false");
	init = bpf_map__initial_value((struct bpf_map *)m, &sz);
	if (init) {
		printf(",\"data\":\"");
		for (size_t i = 0; i < sz; i++)
			printf("%02x", init[i]);
		printf("\"");
	}
	inner = bpf_map__inner_map((struct bpf_map *)m);
	if (inner) {
		printf(",\"inner\":");
		dump_map(inner);
	}
	printf("}");
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(gen_loader_opts, gen);
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .kconfig = getenv("KCONFIG"),
		    .btf_custom_path = getenv("BTF_CUSTOM"));
	int real_load = getenv("ORACLE_LOAD") != NULL;
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_map *m;
	int first, err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJ\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], &open_opts);
	if (!obj) {
		printf("{\"error\":\"open\",\"errno\":%d}\n", errno);
		return 0;
	}
	/* Maps as opened: loading frees inner map templates. */
	printf("{\"name\":");
	json_str(bpf_object__name(obj));
	{
		/* LINUX_KERNEL_VERSION as libbpf computes it from uname. */
		struct utsname u;
		int a = 0, b = 0, c = 0;

		uname(&u);
		sscanf(u.release, "%d.%d.%d", &a, &b, &c);
		printf(",\"kernel_version\":%d", (a << 16) + (b << 8) + (c > 255 ? 255 : c));
	}
	printf(",\"maps\":[");
	first = 1;
	bpf_object__for_each_map(m, obj) {
		printf(first ? "" : ",");
		first = 0;
		dump_map(m);
	}
	if (real_load && getenv("ORACLE_TINY_MAPS")) {
		bpf_object__for_each_map(m, obj) {
			enum bpf_map_type t = bpf_map__type(m);

			if (t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_USER_RINGBUF)
				bpf_map__set_max_entries(m, 4096);
			else if (t != BPF_MAP_TYPE_PERF_EVENT_ARRAY && bpf_map__max_entries(m) > 1)
				bpf_map__set_max_entries(m, 1);
		}
	}
	err = real_load ? 0 : bpf_object__gen_loader(obj, &gen);
	if (!err)
		err = bpf_object__load(obj);
	/* Initial values after loading: externs are resolved by then. */
	printf("],\"load_error\":%d,\"loaded_data\":[", err);
	first = 1;
	bpf_object__for_each_map(m, obj) {
		size_t sz = 0;
		const unsigned char *init = bpf_map__initial_value(m, &sz);

		printf(first ? "\"" : ",\"");
		first = 0;
		for (size_t i = 0; init && i < sz; i++)
			printf("%02x", init[i]);
		printf("\"");
	}
	printf("],\"programs\":[");
	first = 1;
	bpf_object__for_each_program(p, obj) {
		const struct bpf_insn *in = bpf_program__insns(p);
		size_t n = bpf_program__insn_cnt(p);

		printf(first ? "" : ",");
		first = 0;
		printf("{\"name\":");
		json_str(bpf_program__name(p));
		printf(",\"section\":");
		json_str(bpf_program__section_name(p));
		printf(",\"type\":%d,\"expected_attach_type\":%d,\"autoload\":%s,\"flags\":%u,\"insns\":[",
		       bpf_program__type(p), bpf_program__expected_attach_type(p),
		       bpf_program__autoload(p) ? "true" : "false", bpf_program__flags(p));
		for (size_t i = 0; i < n; i++) {
			const unsigned char *b = (const unsigned char *)&in[i];
			printf("%s\"", i ? "," : "");
			for (int j = 0; j < 8; j++)
				printf("%02x", b[j]);
			printf("\"");
		}
		printf("]}");
	}
	printf("]}\n");
	bpf_object__close(obj);
	return 0;
}
