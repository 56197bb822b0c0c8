#!/usr/bin/env python3
"""Write corpus/expected/NAME.json for one BPF object.

Static part (from the ELF, via llvm-readelf-19 / llvm-objdump-19):
  every function symbol in an executable section: section, name, binding,
  offset and size in instruction slots (st_size / 8), cross-checked
  against llvm-objdump's line count (ld_imm64 prints as one line but takes
  two slots).  Objects with no function symbols in a program section
  (old iproute2 style) list the section itself.
Kernel part (from corpus/tools/kverdict, i.e. libbpf + the running kernel):
  maps as created, and per entry program: accepted/rejected + error line.
Also cross-checked with `bpftool prog loadall`.

usage: mkexpected.py OBJ SRC KVERDICT_BIN OUT.json [cflags...]
"""
import json
import os
import re
import shutil
import subprocess
import sys

obj, src, kverdict, out = sys.argv[1:5]
cflags = sys.argv[5:]
name = os.path.basename(obj)[:-2]


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True).stdout


# --- sections -------------------------------------------------------------
sections = {}
for line in run("llvm-readelf-19", "-S", "--wide", obj).splitlines():
    m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
    if m:
        idx, sname, stype, size, flags = m.groups()
        sections[int(idx)] = {"name": sname, "type": stype, "size": int(size, 16), "flags": flags}
exec_secs = {i: s for i, s in sections.items() if "X" in s["flags"] and s["type"] == "PROGBITS"}

# --- symbols --------------------------------------------------------------
funcs = []
for line in run("llvm-readelf-19", "-s", "--wide", obj).splitlines():
    parts = line.split()
    if len(parts) < 8 or not parts[0].rstrip(":").isdigit():
        continue
    _, value, size, typ, bind, _vis, ndx, sym = parts[:8]
    if typ != "FUNC" or not ndx.isdigit() or int(ndx) not in exec_secs:
        continue
    funcs.append({"name": sym, "section": exec_secs[int(ndx)]["name"], "binding": bind,
                  "offset_insns": int(value, 16) // 8, "size_insns": int(size) // 8})

# --- objdump cross-check: lines per function and ld_imm64 count ------------
dis = run("llvm-objdump-19", "-d", "--no-show-raw-insn", obj)
per_label = {}
cur = None
cur_sec = None
for line in dis.splitlines():
    m = re.match(r"^Disassembly of section (.*):$", line)
    if m:
        cur_sec = m.group(1)
        cur = (cur_sec, None)
        per_label.setdefault(cur, [0, 0])
        continue
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        cur = (cur_sec, m.group(1))
        per_label.setdefault(cur, [0, 0])
        continue
    if re.match(r"^\s+[0-9a-f]+:\s", line) and cur is not None:
        per_label[cur][0] += 1
        if line.rstrip().endswith(" ll"):
            per_label[cur][1] += 1

programs = []
for f in sorted(funcs, key=lambda f: (f["section"], f["offset_insns"])):
    lines, ld64 = per_label.get((f["section"], f["name"]), [None, None])
    f["objdump_lines"] = lines
    f["ld_imm64"] = ld64
    f["objdump_consistent"] = lines is not None and lines + ld64 == f["size_insns"]
    f["kind"] = "subprog" if f["section"] == ".text" else "entry"
    programs.append(f)

have_syms = {f["section"] for f in funcs}
for s in exec_secs.values():
    if s["name"] not in have_syms and s["size"] > 0:
        # objdump labels a symbol-less section with the section symbol
        tot = [v for (sec, _lab), v in per_label.items() if sec == s["name"]]
        lines, ld64 = (sum(v[0] for v in tot), sum(v[1] for v in tot)) if tot else (None, None)
        programs.append({"name": None, "section": s["name"], "binding": None, "offset_insns": 0,
                         "size_insns": s["size"] // 8, "objdump_lines": lines, "ld_imm64": ld64,
                         "objdump_consistent": lines is not None and lines + ld64 == s["size"] // 8,
                         "kind": "entry", "note": "no function symbol: one program per section"})

# --- kernel ---------------------------------------------------------------
kv = json.loads(run(kverdict, obj))
by_name = {p["name"]: p for p in kv["programs"]}
for p in programs:
    if p["kind"] != "entry":
        continue
    k = by_name.get(p["name"]) or by_name.get(p["section"])
    if k is None:
        p["kernel_verdict"] = "not_a_program"
        continue
    for key in ("kernel_verdict", "kernel_errno", "kernel_error", "loaded_insns"):
        if key in k:
            p[key] = k[key]

pin = "/sys/fs/bpf/corpus/" + name
shutil.rmtree(pin, ignore_errors=True)
os.makedirs("/sys/fs/bpf/corpus", exist_ok=True)
r = subprocess.run(["bpftool", "prog", "loadall", obj, pin], capture_output=True, text=True)
shutil.rmtree(pin, ignore_errors=True)

notes = [l.split(":", 1)[1].strip() for l in open(src) if l.startswith("// oxbpf-note:")]
doc = {
    "object": "corpus/obj/%s.o" % name,
    "source": "corpus/src/%s" % os.path.basename(src),
    "compiler": "clang-19 -O2 -g -target bpf " + " ".join(cflags),
    "negative_example": name.startswith("reject_"),
    "loader": kv["loader"],
    "object_verdict": kv["object_verdict"],
    "bpftool_loadall": "ok" if r.returncode == 0 else "failed",
    "maps": kv["maps"],
    "programs": programs,
}
if notes:
    doc["notes"] = notes
with open(out, "w") as fh:
    json.dump(doc, fh, indent=2)
    fh.write("\n")
