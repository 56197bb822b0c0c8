#!/usr/bin/env bash
# Rebuilds the test objects from their sources and, where the system
# libbpf is available, the oracle files (*.libbpf.json) the tests compare
# against. Objects are committed so tests need neither clang nor libbpf.
#
#   crates/object/tests/data/regen.sh
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
CFLAGS=(-O2 -g -target bpf -I/usr/include/x86_64-linux-gnu)

for src in *.bpf.c; do
	obj=${src%.c}.o
	[ "$src" = core_target.bpf.c ] && continue
	"$CLANG" "${CFLAGS[@]}" -c "$src" -o "$obj"
done
"$CLANG" "${CFLAGS[@]}" -DPINNING=2 -c legacy_elf.bpf.c -o legacy_elf_pinned.bpf.o
"$CLANG" "${CFLAGS[@]}" -DINNER_ID=1 -c legacy_elf.bpf.c -o legacy_elf_inner.bpf.o
llvm-mc-19 -triple bpf -filetype=obj nofunc.s -o nofunc.o
llvm-mc-19 -triple bpf -filetype=obj intra_call.s -o intra_call.o
"$CLANG" "${CFLAGS[@]}" -c core_target.bpf.c -o /tmp/core_target.o
llvm-objcopy-19 --dump-section .BTF=core_target.btf /tmp/core_target.o

# The libbpf oracle (gen_loader mode: relocation without a kernel).
cc -O2 -Wall -o /tmp/libbpf_dump ../tools/libbpf_dump.c -lbpf
export KCONFIG=$'CONFIG_HZ=250\nCONFIG_BPF_SYSCALL=y\nCONFIG_E1000=m\nCONFIG_DEFAULT_HOSTNAME="oxbpf"'
for obj in globals subprogs maps kconfig sections legacy_elf pinning; do
	/tmp/libbpf_dump "$obj.bpf.o" 2>/dev/null >"$obj.libbpf.json"
done

# CO-RE: libbpf loads these for real (root needed, tiny or no maps), so
# that it applies CO-RE relocations; the instructions are dumped whether
# or not the kernel accepts them.
if [ -r /sys/kernel/btf/vmlinux ]; then
	bpftool gen min_core_btf /sys/kernel/btf/vmlinux core_task.btf core_task.bpf.o
fi
ORACLE_LOAD=1 BTF_CUSTOM=$PWD/core_target.btf /tmp/libbpf_dump core.bpf.o 2>/dev/null >core.target.libbpf.json
ORACLE_LOAD=1 BTF_CUSTOM=$PWD/../../data/contexts.btf /tmp/libbpf_dump core.bpf.o 2>/dev/null >core.builtin.libbpf.json
ORACLE_LOAD=1 BTF_CUSTOM=$PWD/core_task.btf /tmp/libbpf_dump core_task.bpf.o 2>/dev/null >core_task.libbpf.json

# What libbpf relocates every corpus program to (tests/corpus.rs). The
# external corpus's are made by scripts/fetch-external-corpus.sh, with the
# objects it builds (target/external-corpus/libbpf_relocated.tsv).
(cd ../../../.. && crates/object/tests/tools/oracle_hashes.py corpus/obj/*.o) >libbpf_relocated.tsv

# CO-RE against the running kernel, from real loads with tiny maps
# (tests/corpus.rs checks it only on the kernel it was made on).
mkdir -p /tmp/oracle_core
objs=$(cd ../../../.. && ls corpus/obj/*.o; find target/external-corpus -name '*.o' -not -path '*/.cache/*' 2>/dev/null | sort)
for f in $objs; do
	ORACLE_LOAD=1 ORACLE_TINY_MAPS=1 timeout 20 /tmp/libbpf_dump "../../../../$f" \
		>"/tmp/oracle_core/$(echo "$f" | tr / _).json" 2>/dev/null || true
done
(cd ../../../.. && cargo run -q --release -p oxbpf-object --example oracle_compare -- \
	--core --emit crates/object/tests/data/libbpf_core_relocated.tsv /tmp/oracle_core $objs)
