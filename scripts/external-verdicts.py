#!/usr/bin/env python3
"""Our verifier's verdicts against the kernel's on the external corpus.

Runs `oxbpf -j prog verify` on every object of
target/external-corpus/manifest.json (written by
scripts/fetch-external-corpus.sh, which records the running kernel's
verdict per program) and prints the counts of (ours, kernel) verdict
pairs, then one line per program where they differ with our error.

    scripts/fetch-external-corpus.sh          # once, as root
    cargo build --release -p oxbpf-cli
    scripts/external-verdicts.py [path/to/oxbpf]

Kernel rejections include set-up failures that are not verdicts (EPERM
under lockdown, kfuncs or kernel symbols missing, attach targets unset):
the kernel's own message is in the manifest.
"""
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BASE = os.path.join(ROOT, "target", "external-corpus")


def main():
    oxbpf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "oxbpf")
    manifest = json.load(open(os.path.join(BASE, "manifest.json")))
    pairs = collections.Counter()
    diffs = []
    for obj in manifest["objects"]:
        progs = {p["name"]: p for p in obj.get("programs", [])}
        if not progs:
            continue
        try:
            out = subprocess.run([oxbpf, "-j", "prog", "verify", obj["object"]], cwd=BASE,
                                 capture_output=True, text=True, timeout=300)
            result = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
        except (subprocess.TimeoutExpired, json.JSONDecodeError) as e:
            result = {"error": str(e)}
        if "programs" not in result:
            err = result.get("error") or (out.stderr.strip().splitlines() or ["?"])[-1]
            for p in progs.values():
                pairs[("not opened", p["kernel_verdict"])] += 1
            diffs.append((obj["object"], "*", "not opened", str(err)[:200]))
            continue
        ours = {p["name"]: p for p in result["programs"]}
        for name, p in progs.items():
            # Our names are the ELF symbol's; libbpf's may be cut to 15 bytes.
            o = ours.get(name) or next((v for k, v in ours.items() if k[:15] == name[:15]), None)
            verdict = o["verdict"] if o else "missing"
            pairs[(verdict, p["kernel_verdict"])] += 1
            if verdict != p["kernel_verdict"]:
                why = ((o or {}).get("error") or "") if verdict == "rejected" else p.get("kernel_error", "")
                diffs.append((obj["object"], name, f"ours={verdict} kernel={p['kernel_verdict']}", why[:250]))
    for (ours, kernel), n in sorted(pairs.items()):
        print(f"{n:5}  ours {ours:10} kernel {kernel}")
    for d in diffs:
        print("\t".join(d))


if __name__ == "__main__":
    main()
