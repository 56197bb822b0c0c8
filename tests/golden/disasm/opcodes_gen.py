#!/usr/bin/env python3
"""Writes opcodes.s: every opcode byte with a spread of register, offset and
immediate values, as raw `.quad` slots, keeping only the slots oxbpf's
decoder accepts (so that the listing compares our text with llvm-objdump's
on every valid encoding; what the decoder refuses is tested in crates/isa).

Usage: opcodes_gen.py OXBPF_BINARY   (rebuild.sh does not rerun it: the
generated opcodes.s is committed)."""
import json, subprocess, sys, tempfile

combos = [(1,2,0,0),(1,0,0,4),(1,0,0,-5),(1,2,3,0),(1,2,-3,0),(1,0,-3,-5),(1,0,3,0x7fffffff),
          (0,0,0,16),(3,0,0,32),(3,0,0,64),(1,2,8,0),(1,2,16,0),(1,2,32,0),(1,2,1,0),(1,0,1,7),
          (0,0,0,0),(0,1,0,5),(0,2,0,7),(0,2,3,7),(0,0,5,0),(0,0,0,-6),(2,0,0,0),(0,0,0,2)]
atomics = [0,1,0x40,0x41,0x50,0x51,0xa0,0xa1,0xe1,0xf1]

def quad(code, dst, src, off, imm):
    return code | ((dst | (src << 4)) << 8) | ((off & 0xffff) << 16) | ((imm & 0xffffffff) << 32)

candidates = []  # lists of 1 or 2 quads
for code in range(1, 256):
    if code == 0x18:
        for src in range(7):
            for lo, hi in [(4,0),(-1,-1),(0x9abcdef0,0x12345678),(0,0)]:
                candidates.append([quad(0x18,1,src,0,lo), quad(0,0,0,0,hi)])
        continue
    cs = list(combos)
    if code & 7 == 3 and code & 0xe0 == 0xc0:
        cs += [(1,2,8,i) for i in atomics]
    candidates += [[quad(code, *c)] for c in cs]

with tempfile.NamedTemporaryFile(suffix=".bin") as f:
    for c in candidates:
        for q in c:
            f.write(q.to_bytes(8, "little"))
    f.flush()
    out = subprocess.run([sys.argv[1], "-j", "disasm", f.name, "syntax", "llvm19"],
                         check=True, capture_output=True, text=True).stdout
insns = {i["pc"]: i["text"] for i in json.loads(out)["sections"][0]["insns"]}

kept, pc = [], 0
for c in candidates:
    text = insns.get(pc)
    if text is not None and not text.startswith("<insn"):
        kept.append(c)
    pc += len(c)

with open("opcodes.s", "w") as f:
    f.write('\t.section xdp,"ax",@progbits\n\t.globl opcodes\nopcodes:\n')
    for c in kept:
        for q in c:
            f.write("\t.quad 0x%016x\n" % q)
print(f"{len(kept)} of {len(candidates)} candidate instructions kept")
