#!/usr/bin/env bash
# Rebuild the program corpus: corpus/src/*.c -> corpus/obj/*.o, and
# regenerate corpus/expected/*.json (program symbols, maps, kernel verdicts).
#
# Needs clang-19, llvm-19 tools, libbpf-dev, libelf-dev, gcc, bpftool, root
# and a bpffs.  Tests never run this: they use the committed .o/.json.
#
#   corpus/build.sh            # everything
#   corpus/build.sh xdp_fw_lpm # only the named sources
#
# Per-source knobs (comment lines in the .c file):
#   // oxbpf-cflags: -mcpu=v4 ...          extra clang flags
#   // oxbpf-postprocess: strip-func-symbols  remove STT_FUNC symbols of program sections
#   // oxbpf-note: ...                     copied into the expected JSON
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
CLANG=${CLANG:-clang-19}
BASE_CFLAGS=(-O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Wall -Wno-unused-function)
mkdir -p obj expected
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc -O1 -Wall -o "$tmp/kverdict" tools/kverdict.c -lbpf -lelf -lz
if [ "$(id -u)" != 0 ]; then echo "build.sh: must run as root (kernel verdicts)" >&2; exit 1; fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

if [ $# -gt 0 ]; then srcs=(); for n in "$@"; do srcs+=("src/${n%.c}.c"); done
else srcs=(src/*.c); fi

for src in "${srcs[@]}"; do
	name=$(basename "$src" .c)
	read -r -a extra <<<"$(sed -n 's|^// oxbpf-cflags: ||p' "$src" | tr '\n' ' ')"
	"$CLANG" "${BASE_CFLAGS[@]}" "${extra[@]}" -c "$src" -o "obj/$name.o"
	if grep -q '^// oxbpf-postprocess: strip-func-symbols' "$src"; then
		args=()
		while read -r sym; do args+=(--strip-symbol="$sym"); done < <(
			llvm-readelf-19 -s --wide "obj/$name.o" | awk '$4=="FUNC"{print $8}')
		llvm-objcopy-19 "${args[@]}" "obj/$name.o"
	fi
	python3 tools/mkexpected.py "obj/$name.o" "$src" "$tmp/kverdict" "expected/$name.json" "${extra[@]}"
	printf '%-32s %s\n' "$name" "$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
print(d["object_verdict"], " ".join("%s=%s" % (p["name"] or p["section"], p["kernel_verdict"]) for p in d["programs"] if p["kind"]=="entry"))' "expected/$name.json")"
done
rmdir /sys/fs/bpf/corpus 2>/dev/null || true
