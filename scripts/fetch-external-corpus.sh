#!/usr/bin/env bash
# Build an external corpus of real-world BPF objects that nobody in this
# project wrote, into target/external-corpus/<source>/..., with a manifest
# (target/external-corpus/manifest.tsv and manifest.json) that records where
# each object came from and what the running kernel says about it.
#
# Nothing here is committed: third-party binaries and sources stay in
# target/.  Downloads are cached in target/external-corpus/.cache.
#
# Sources (Debian bookworm packages, fetched with apt-get download):
#   libxdp      libxdp1 / xdp-tests: prebuilt .o files (xdp-dispatcher, xdpfilt_*, xdpdump_*, xsk_def_xdp_prog*)
#   skeleton    libbpf-tools, bpftool, systemd: BPF objects embedded in binaries by
#               "bpftool gen skeleton", carved out by corpus/tools/carve_bpf_elf.py
#   selftests   linux-source-6.1: tools/testing/selftests/bpf/progs/*.c compiled with clang-19
#               against a vmlinux.h from the running kernel's BTF and the tree's own libbpf headers
#   samples     linux-source-6.1: samples/bpf/*_kern.c and *.bpf.c, same toolchain
#
# Kernel verdicts: corpus/tools/kverdict (libbpf, same as `bpftool prog loadall`),
# one line per object plus per-program verdicts in the JSON manifest.
#
# Options: SKIP_KERNEL=1 (no verdicts), SKIP_SOURCE=1 (no linux-source build),
#          JOBS=N (parallel compiles, default nproc), VERDICT_TIMEOUT=s (per object, default 20)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/external-corpus"
cache="$out/.cache"
JOBS=${JOBS:-$(nproc)}
VERDICT_TIMEOUT=${VERDICT_TIMEOUT:-20}
CLANG=${CLANG:-clang-19}
mkdir -p "$cache/debs" "$out"
start=$(date +%s)
log() { printf '[%4ds] %s\n' $(( $(date +%s) - start )) "$*" >&2; }

manifest="$out/manifest.tsv"
: >"$manifest.tmp"
# columns: source  object(relative to $out)  origin
add() { printf '%s\t%s\t%s\n' "$1" "${2#"$out"/}" "$3" >>"$manifest.tmp"; }

fetch() {	# fetch PACKAGE... into the cache, return nothing
	local need=()
	for p in "$@"; do ls "$cache/debs/${p}_"*.deb >/dev/null 2>&1 || need+=("$p"); done
	if [ ${#need[@]} -gt 0 ]; then
		(cd "$cache/debs" && apt-get download "${need[@]}" >/dev/null 2>&1) ||
			{ apt-get update >/dev/null 2>&1; (cd "$cache/debs" && apt-get download "${need[@]}" >/dev/null 2>&1); } ||
			log "warning: could not download ${need[*]}"
	fi
}
unpack() {	# unpack PACKAGE -> prints dir
	local deb dir
	deb=$(ls "$cache/debs/${1}_"*.deb 2>/dev/null | head -1) || return 1
	[ -n "$deb" ] || return 1
	dir="$cache/unpacked/$1"
	[ -d "$dir" ] || { mkdir -p "$dir" && dpkg-deb -x "$deb" "$dir"; }
	echo "$dir"
}

# ---- 1. prebuilt objects (libxdp1, xdp-tests) -----------------------------
fetch libxdp1 xdp-tests xdp-tools libbpf-tools bpftool systemd
rm -rf "$out/libxdp" "$out/skeleton"
mkdir -p "$out/libxdp" "$out/skeleton"
for pkg in libxdp1 xdp-tests; do
	dir=$(unpack $pkg) || continue
	ver=$(basename "$(ls "$cache/debs/${pkg}_"*.deb)" .deb)
	while IFS= read -r f; do
		if head -c 20 "$f" | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c46020101.\{22\}f700'; then
			cp "$f" "$out/libxdp/$pkg--$(basename "$f")"
			add libxdp "$out/libxdp/$pkg--$(basename "$f")" "deb:$ver:${f#"$dir"}"
		fi
	done < <(find "$dir" -name '*.o' -type f)
done
log "libxdp: $(ls "$out/libxdp" | wc -l) objects"

# ---- 2. skeletons embedded in binaries ------------------------------------
for pkg in libbpf-tools bpftool systemd xdp-tools; do
	dir=$(unpack $pkg) || continue
	ver=$(basename "$(ls "$cache/debs/${pkg}_"*.deb)" .deb)
	mapfile -t bins < <(find "$dir" -type f \( -perm -u+x -o -name '*.so*' \) -size +8k)
	[ ${#bins[@]} -gt 0 ] || continue
	python3 "$root/corpus/tools/carve_bpf_elf.py" "$out/skeleton" "$pkg--" "${bins[@]}" |
	while read -r obj src off; do add skeleton "$obj" "deb:$ver:${src#"$dir"}@$off"; done
done
log "skeleton: $(ls "$out/skeleton" | wc -l) objects"

# ---- 3./4. linux-source-6.1: selftests and samples --------------------------
if [ -z "${SKIP_SOURCE:-}" ]; then
	fetch linux-source-6.1
	src="$cache/linux-src"
	deb=$(ls "$cache/debs/linux-source-6.1_"*.deb 2>/dev/null | head -1)
	if [ -n "$deb" ] && [ ! -d "$src/tools/testing/selftests/bpf/progs" ]; then
		log "extracting linux-source-6.1 (bpf parts only)"
		rm -rf "$src" && mkdir -p "$src"
		tarball=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep 'linux-source-6.1.tar' | head -1)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" |
			xz -dc 2>/dev/null | tar -x -C "$src" --strip-components=1 --wildcards \
			'*/tools/testing/selftests/bpf/progs/*' '*/tools/testing/selftests/bpf/*.h' \
			'*/tools/lib/bpf/*' '*/tools/include/*' '*/samples/bpf/*' '*/include/uapi/*' 2>/dev/null
	fi
	if [ -d "$src/tools/lib/bpf" ]; then
		ver=$(basename "$deb" .deb)
		inc="$cache/include"
		if [ ! -f "$inc/bpf/bpf_helper_defs.h" ]; then
			mkdir -p "$inc/bpf"
			cp "$src"/tools/lib/bpf/{bpf_helpers.h,bpf_tracing.h,bpf_core_read.h,bpf_endian.h,usdt.bpf.h} "$inc/bpf/" 2>/dev/null
			python3 "$src/scripts/bpf_doc.py" --header --file "$src/tools/include/uapi/linux/bpf.h" \
				>"$inc/bpf/bpf_helper_defs.h" 2>/dev/null ||
				cp /usr/include/bpf/bpf_helper_defs.h "$inc/bpf/"
		fi
		[ -s "$cache/vmlinux.h" ] || bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$cache/vmlinux.h"
		mkdir -p "$cache/vmlinux" && cp -f "$cache/vmlinux.h" "$cache/vmlinux/vmlinux.h"
		rm -rf "$out/selftests" "$out/samples"
		mkdir -p "$out/selftests" "$out/samples"
		compile() {	# compile KIND SRC -> obj or nothing
			local kind=$1 f=$2 o
			o="$out/$kind/$(basename "${f%.c}").o"
			timeout 60 "$CLANG" -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 \
				-I"$cache/vmlinux" -I"$inc" -I"$src/tools/testing/selftests/bpf" \
				-I"$src/tools/testing/selftests/bpf/progs" -I/usr/include/x86_64-linux-gnu \
				-Wno-everything -c "$f" -o "$o" 2>/dev/null || rm -f "$o"
		}
		export -f compile
		export out cache inc src CLANG
		log "compiling selftests/bpf/progs with $CLANG ($JOBS jobs)"
		ls "$src"/tools/testing/selftests/bpf/progs/*.c | xargs -P "$JOBS" -I{} bash -c 'compile selftests {}'
		ls "$src"/samples/bpf/*_kern.c "$src"/samples/bpf/*.bpf.c 2>/dev/null |
			xargs -P "$JOBS" -I{} bash -c 'compile samples {}'
		for k in selftests samples; do
			tot=$(ls "$src"/$( [ $k = selftests ] && echo tools/testing/selftests/bpf/progs/*.c || echo samples/bpf/*_kern.c samples/bpf/*.bpf.c) 2>/dev/null | wc -l)
			echo "$tot" >"$out/$k/.attempted"
			for o in "$out/$k"/*.o; do
				[ -e "$o" ] || continue
				rel=$([ $k = selftests ] && echo tools/testing/selftests/bpf/progs || echo samples/bpf)
				add "$k" "$o" "deb:$ver:$rel/$(basename "${o%.o}").c (clang-19 -O2 -g -mcpu=v3, vmlinux.h of $(uname -r))"
			done
			log "$k: $(ls "$out/$k"/*.o 2>/dev/null | wc -l) of $tot compiled"
		done
	fi
fi

# ---- kernel verdicts --------------------------------------------------------
kv="$cache/kverdict"
gcc -O1 -o "$kv" "$root/corpus/tools/kverdict.c" -lbpf -lelf -lz || exit 1
mkdir -p "$out/verdicts"
if [ -z "${SKIP_KERNEL:-}" ] && [ "$(id -u)" = 0 ]; then
	log "kernel verdicts (timeout ${VERDICT_TIMEOUT}s per object)"
	cut -f2 "$manifest.tmp" | xargs -P "$JOBS" -I{} sh -c \
		'j="$1/verdicts/$(echo "$2" | tr / _).json"; timeout '"$VERDICT_TIMEOUT"' "$3" "$1/$2" >"$j" 2>/dev/null || echo "{\"object_verdict\": \"timeout-or-error\"}" >"$j"' _ "$out" {} "$kv"
	# kverdict cleans its private pin dir itself, except when killed by timeout
	for d in /sys/fs/bpf/kverdict_*; do [ -d "$d" ] && rm -f "$d"/* && rmdir "$d"; done
fi

python3 - "$out" "$manifest.tmp" <<'PY'
import json, os, sys
out, tmp = sys.argv[1], sys.argv[2]
rows, summary = [], {}
for line in open(tmp):
    source, obj, origin = line.rstrip("\n").split("\t")
    vpath = os.path.join(out, "verdicts", obj.replace("/", "_") + ".json")
    v = {}
    try:
        v = json.load(open(vpath))
    except Exception:
        pass
    verdict = v.get("object_verdict", "not-run")
    progs = v.get("programs", [])
    rows.append({"source": source, "object": obj, "origin": origin, "object_verdict": verdict,
                 "loader": v.get("loader"), "object_error": v.get("object_error"),
                 "programs": progs, "maps": v.get("maps", [])})
    s = summary.setdefault(source, {"objects": 0, "accepted": 0, "rejected": 0, "other": 0,
                                    "programs": 0, "programs_accepted": 0})
    s["objects"] += 1
    s[verdict if verdict in ("accepted", "rejected", "no_programs") else "other"] = s.get(verdict if verdict in ("accepted", "rejected", "no_programs") else "other", 0) + 1
    s["programs"] += len(progs)
    s["programs_accepted"] += sum(p.get("kernel_verdict") == "accepted" for p in progs)
for k in ("selftests", "samples"):
    a = os.path.join(out, k, ".attempted")
    if os.path.exists(a) and k in summary:
        summary[k]["sources_attempted"] = int(open(a).read())
json.dump({"summary": summary, "objects": rows}, open(os.path.join(out, "manifest.json"), "w"), indent=1)
with open(os.path.join(out, "manifest.tsv"), "w") as fh:
    fh.write("source\tobject\tobject_verdict\tprograms_accepted/programs\torigin\terror\n")
    for r in rows:
        n = len(r["programs"]); a = sum(p.get("kernel_verdict") == "accepted" for p in r["programs"])
        fh.write("%s\t%s\t%s\t%d/%d\t%s\t%s\n" % (r["source"], r["object"], r["object_verdict"], a, n,
                                                 r["origin"], (r["object_error"] or "").replace("\t", " ")))
for k, s in sorted(summary.items()):
    print("%-10s objects=%-4d accepted=%-4d rejected=%-4d no_programs=%-3d other=%-3d programs accepted %d/%d%s" % (
        k, s["objects"], s["accepted"], s["rejected"], s.get("no_programs", 0), s["other"], s["programs_accepted"], s["programs"],
        "  (compiled %d of %d sources)" % (s["objects"], s["sources_attempted"]) if "sources_attempted" in s else ""))
PY
rm -f "$manifest.tmp"

# What the system libbpf relocates every external program to, made here
# from these objects (crates/object/tests/corpus.rs compares oxbpf's
# relocation with it; the objects depend on this kernel's vmlinux.h, so
# the hashes cannot be committed).
if cc -O2 -o "$cache/libbpf_dump" "$root/crates/object/tests/tools/libbpf_dump.c" -lbpf 2>/dev/null; then
	(cd "$root" && LIBBPF_DUMP="$cache/libbpf_dump" crates/object/tests/tools/oracle_hashes.py \
		$(find target/external-corpus -name '*.o' -not -path '*/.cache/*' | sort)) >"$out/libbpf_relocated.tsv"
	log "libbpf relocations: $(wc -l <"$out/libbpf_relocated.tsv") programs"
fi
log "done: $out/manifest.tsv, $out/manifest.json"
