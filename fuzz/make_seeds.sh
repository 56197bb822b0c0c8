#!/usr/bin/env bash
# Builds the seed corpus from the test objects: each object's .BTF alone,
# and .BTF + .BTF.ext in the target's two-part layout.
set -euo pipefail
cd "$(dirname "$0")"
out=seeds/btf_parse
mkdir -p "$out"
for o in ../crates/btf/tests/data/*.o; do
	n=$(basename "$o" .o)
	llvm-objcopy-19 --dump-section .BTF=/tmp/seed.btf --dump-section .BTF.ext=/tmp/seed.ext "$o" /tmp/seed.o
	cp /tmp/seed.btf "$out/$n.btf"
	python3 -c "import struct,sys; b=open('/tmp/seed.btf','rb').read(); e=open('/tmp/seed.ext','rb').read(); sys.stdout.buffer.write(struct.pack('<H', len(b)) + b + e)" > "$out/$n.both"
done

# elf_parse: the object crate's test objects as they are.
mkdir -p seeds/elf_parse
cp ../crates/object/tests/data/*.o seeds/elf_parse/
