#!/usr/bin/env python3
"""Carve embedded BPF ELF objects (EM_BPF = 247) out of arbitrary files,
e.g. libbpf skeleton binaries (bpftool gen skeleton embeds the whole .o as
a byte string).  usage: carve_bpf_elf.py OUTDIR PREFIX FILE...
Prints one line per object written: "<out> <source file> <offset>".
"""
import hashlib
import os
import struct
import sys

outdir, prefix = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)
seen = set()
for path in sys.argv[3:]:
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    pos = 0
    n = 0
    while True:
        pos = data.find(b"\x7fELF\x02\x01\x01", pos)
        if pos < 0:
            break
        hdr = data[pos:pos + 64]
        if len(hdr) < 64:
            break
        e_type, e_machine = struct.unpack_from("<HH", hdr, 16)
        if e_machine != 247 or e_type != 1:  # EM_BPF, ET_REL
            pos += 4
            continue
        e_shoff, = struct.unpack_from("<Q", hdr, 40)
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", hdr, 58)
        end = e_shoff + e_shentsize * e_shnum
        # the section header table is normally last, but be safe
        for i in range(e_shnum):
            off = pos + e_shoff + i * e_shentsize
            if off + 64 > len(data):
                break
            sh_type, = struct.unpack_from("<I", data, off + 4)
            sh_offset, sh_size = struct.unpack_from("<QQ", data, off + 24)
            if sh_type != 8:  # SHT_NOBITS
                end = max(end, sh_offset + sh_size)
        blob = data[pos:pos + end]
        digest = hashlib.sha256(blob).hexdigest()[:12]
        if digest not in seen:
            seen.add(digest)
            base = os.path.basename(path)
            out = os.path.join(outdir, "%s%s.%d.o" % (prefix, base, n))
            with open(out, "wb") as fh:
                fh.write(blob)
            print(out, path, pos)
            n += 1
        pos += max(end, 4)
