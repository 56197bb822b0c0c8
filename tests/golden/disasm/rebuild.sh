#!/bin/sh
# Recompiles the golden objects and regenerates the expected listings from
# the real tools. Needs clang-19, llvm-objdump (14), llvm-objdump-19 and,
# for the kernel listings, root, bpftool and a mounted bpffs. Review the
# diff before committing.
#
#   NAME.c        -> NAME.vN.o for every cpu version on its "// mcpu:" line
#   NAME.vN.o     -> NAME.vN.objdump14.txt (llvm-objdump -d)
#                    NAME.vN.objdump19.txt (llvm-objdump-19 -d)
#   kernel/NAME.c -> kernel/NAME.o (at the one cpu version of its "// mcpu:"
#                    line, no -g: bpftool then prints bare lines),
#                    loaded into the running kernel, and its
#                    kernel/NAME.xlated.bin / .xlated.txt from
#                    `bpftool prog dump xlated` (bytes / text)
#   NAME.s        -> NAME.o and its two listings (opcodes_gen.py wrote
#                    opcodes.s; it is not rerun here; symbols.s covers how
#                    llvm-objdump chooses labels)
set -eu
cd "$(dirname "$0")"
CFLAGS="-O2 -g -target bpf -I/usr/include/x86_64-linux-gnu"

listings() {
	llvm-objdump -d "$1" > "${1%.o}.objdump14.txt"
	llvm-objdump-19 -d "$1" > "${1%.o}.objdump19.txt"
}

for c in *.c; do
	name=${c%.c}
	for v in $(sed -n 's,^// mcpu: ,,p' "$c"); do
		clang-19 $CFLAGS -mcpu="$v" -c "$c" -o "$name.$v.o"
		listings "$name.$v.o"
	done
done
for s in *.s; do
	clang-19 -target bpf -c "$s" -o "${s%.s}.o"
	listings "${s%.s}.o"
done

if [ "$(id -u)" = 0 ] && command -v bpftool >/dev/null && [ -d /sys/fs/bpf ]; then
	for c in kernel/*.c; do
		name=${c%.c}
		v=$(sed -n 's,^// mcpu: ,,p' "$c")
		clang-19 -O2 -target bpf -mcpu="$v" -I/usr/include/x86_64-linux-gnu -c "$c" -o "$name.o"
		pin=/sys/fs/bpf/oxbpf_golden_$$
		bpftool prog load "$name.o" "$pin"
		bpftool prog dump xlated pinned "$pin" file "$name.xlated.bin"
		bpftool prog dump xlated pinned "$pin" > "$name.xlated.txt"
		rm -f "$pin"
	done
else
	echo "rebuild.sh: not root or no bpftool: kernel listings left as they are" >&2
fi
