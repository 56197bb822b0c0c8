#!/usr/bin/env python3
"""Records what the system libbpf relocates each corpus program to.

For every object given (paths relative to the repository root), runs
libbpf_dump (gen_loader mode: relocation without a kernel, CO-RE left
alone) and prints one line per program libbpf relocated:

    object <TAB> program <TAB> instruction count <TAB> FNV-1a 64 of the bytes

with gen_loader's BPF_PSEUDO_MAP_IDX(_VALUE) (src 5, 6) rewritten to
oxbpf's BPF_PSEUDO_MAP_FD(_VALUE) (1, 2), so tests/corpus.rs can compare
oxbpf-object's instructions without libbpf or the objects' JSON.

    cd <repo> && crates/object/tests/tools/oracle_hashes.py OBJ... > \
        crates/object/tests/data/libbpf_relocated.tsv
"""
import json, os, subprocess, sys

DUMP = os.environ.get("LIBBPF_DUMP", "/tmp/libbpf_dump")


def fnv(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def normalise(h: str) -> bytes:
    b = bytearray.fromhex(h)
    if b[0] == 0x18:
        src = {5: 1, 6: 2}.get(b[1] >> 4, b[1] >> 4)
        b[1] = (src << 4) | (b[1] & 15)
    return bytes(b)


for obj in sys.argv[1:]:
    try:
        out = subprocess.run([DUMP, obj], capture_output=True, timeout=30).stdout
        d = json.loads(out.decode().strip().splitlines()[-1])
    except Exception:
        continue
    if d.get("load_error") != 0:
        continue
    for p in d["programs"]:
        if not p["autoload"]:
            continue
        code = b"".join(normalise(h) for h in p["insns"])
        print(f"{obj}\t{p['name']}\t{len(p['insns'])}\t{fnv(code):016x}")
