//! `isa::xlated` against bpftool 7.1's `prog dump xlated` on Linux 6.18.
//!
//! Each directory under `tests/xlated/` holds one program as the kernel
//! handed it back (`input.json`: the xlated instructions from
//! `BPF_OBJ_GET_INFO_BY_FD`, func and line info resolved through the
//! object's BTF, the kallsyms names bpftool would find for its calls) and
//! what bpftool printed for it: `plain.txt`, `opcodes.txt`, `linum.txt`,
//! `visual.dot`, `json.txt` (`-j`), `json_opcodes.txt`, `json_linum.txt`
//! and the `-p` forms `json_pretty*.txt`.
//! The test renders the same instructions through `isa::xlated` and
//! compares byte for byte, so it checks the formatting alone and needs
//! neither the kernel nor bpftool.
//!
//! `XLATED_CAPTURE=1 cargo test -p oxbpf-isa --test xlated_golden capture`
//! (root, bpffs at /sys/fs/bpf, bpftool installed) reloads the corpus
//! objects with `bpftool prog loadall` and rewrites the directory.

use isa::xlated::{
    dump_json, dump_json_pretty, dump_json_string, dump_plain, dump_visual, FuncProto, SourceLine,
    XlatedNames, XlatedOptions, XlatedProgram,
};
use isa::RawInsn;
use oxbpf_isa as isa;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xlated")
}

/// The rendering inputs of one captured program.
struct Input {
    insns: Vec<RawInsn>,
    funcs: Vec<FuncProto>,
    lines: Vec<SourceLine>,
    names: XlatedNames,
}

fn parse_input(v: &Value) -> Input {
    let insns = v["insns"]
        .as_array()
        .expect("insns")
        .iter()
        .map(|h| {
            let s = h.as_str().expect("hex slot");
            let mut b = [0u8; 8];
            for (i, byte) in b.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).expect("hex");
            }
            RawInsn::from_bytes(b)
        })
        .collect();
    let funcs = v["funcs"]
        .as_array()
        .expect("funcs")
        .iter()
        .map(|f| FuncProto {
            insn_off: f["insn_off"].as_u64().expect("insn_off") as u32,
            proto: f["proto"].as_str().expect("proto").to_string(),
        })
        .collect();
    let lines = v["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| SourceLine {
            insn_off: l["insn_off"].as_u64().expect("insn_off") as u32,
            file: l["file"].as_str().expect("file").to_string(),
            src: l["src"].as_str().expect("src").to_string(),
            line: l["line"].as_u64().expect("line") as u32,
            col: l["col"].as_u64().expect("col") as u32,
        })
        .collect();
    let n = &v["names"];
    let names = XlatedNames {
        call_syms: n["call_syms"]
            .as_object()
            .expect("call_syms")
            .iter()
            .map(|(k, s)| {
                (
                    k.parse().expect("imm"),
                    s.as_str().expect("sym").to_string(),
                )
            })
            .collect(),
        call_base: n["call_base"].as_u64().expect("call_base"),
        jited: n["jited"].as_bool().expect("jited"),
        subprog_syms: n["subprog_syms"]
            .as_object()
            .expect("subprog_syms")
            .iter()
            .map(|(k, s)| (k.parse().expect("pc"), s.as_str().expect("sym").to_string()))
            .collect(),
    };
    Input {
        insns,
        funcs,
        lines,
        names,
    }
}

/// What bpftool printed, file by file, and how we render the same.
fn renderings(input: &Input) -> Vec<(&'static str, String)> {
    let p = XlatedProgram {
        insns: &input.insns,
        funcs: &input.funcs,
        lines: &input.lines,
        names: &input.names,
    };
    let o = |opcodes, linum| XlatedOptions { opcodes, linum };
    vec![
        ("plain.txt", dump_plain(&p, o(false, false))),
        ("opcodes.txt", dump_plain(&p, o(true, false))),
        ("linum.txt", dump_plain(&p, o(false, true))),
        ("visual.dot", dump_visual(&p)),
        ("json.txt", dump_json_string(&p, o(false, false)) + "\n"),
        (
            "json_opcodes.txt",
            dump_json_string(&p, o(true, false)) + "\n",
        ),
        (
            "json_linum.txt",
            dump_json_string(&p, o(false, true)) + "\n",
        ),
        (
            "json_pretty.txt",
            dump_json_pretty(&p, o(false, false)) + "\n",
        ),
        (
            "json_pretty_opcodes.txt",
            dump_json_pretty(&p, o(true, false)) + "\n",
        ),
        (
            "json_pretty_linum.txt",
            dump_json_pretty(&p, o(false, true)) + "\n",
        ),
    ]
}

/// Instructions that bpftool 7.1's copy of `kernel/bpf/disasm.c` (Linux
/// 6.1) predates, which it prints wrongly (`w4 /= w3` for a signed
/// division, `BUG_ldx_81` for a sign-extending load, `r0 = r0` for the
/// per-CPU address move); `isa::xlated` prints them as Linux 6.18 does.
fn newer_than_bpftool71(r: &RawInsn) -> bool {
    let class = r.code & 0x07;
    match class {
        0x01 => r.code & 0xe0 == 0x80,                       // ldx memsx
        0x04 | 0x07 if r.code & 0xf0 != 0xd0 => r.off != 0,  // sdiv, smod, movsx, percpu
        0x07 => true,                                        // bswap
        0x06 => r.code & 0xf0 == 0x00,                       // gotol
        0x05 => r.code == 0xe5,                              // may_goto
        0x03 => r.code & 0xe0 == 0xc0 && r.imm & 0x100 != 0, // load-acquire, store-release
        _ => false,
    }
}

/// The texts we print for the slots [`newer_than_bpftool71`] holds.
fn newer_texts(input: &Input) -> Vec<String> {
    (0..input.insns.len())
        .filter(|&pc| newer_than_bpftool71(&input.insns[pc]))
        .map(|pc| isa::xlated::xlated_insn_text(&input.insns, pc, &input.names))
        .collect()
}

/// `Some(n)` if the two texts have the same lines except `n` instruction
/// lines (`...NNN: text`) where our text is that of a newer instruction.
fn lines_tolerated(input: &Input, expected: &str, ours: &str) -> Option<usize> {
    let texts = newer_texts(input);
    let (e, o): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), ours.lines().collect());
    if e.len() != o.len() || texts.is_empty() {
        return None;
    }
    let split = |l: &str| -> Option<(usize, usize)> {
        let colon = l.find(": ")?;
        let digits = l[..colon]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .count();
        (digits > 0).then_some((colon + 2, colon - digits))
    };
    let mut n = 0;
    for (a, b) in e.iter().zip(&o) {
        if a == b {
            continue;
        }
        let ((ea, _), (ob, _)) = (split(a)?, split(b)?);
        if a[..ea] != b[..ob] {
            return None;
        }
        let rest = &b[ob..];
        // The graph escapes `<>|&` and cuts long lines; compare unescaped.
        let plain = rest.replace('\\', "");
        if !texts
            .iter()
            .any(|t| rest.starts_with(t.as_str()) || plain.starts_with(t.as_str()))
        {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// `Some(n)` if the JSON arrays differ only in the `disasm` of `n` newer
/// instructions.
fn json_tolerated(input: &Input, expected: &str, ours: &str) -> Option<usize> {
    let (e, o): (Value, Value) = (
        serde_json::from_str(expected).ok()?,
        serde_json::from_str(ours).ok()?,
    );
    let (e, o) = (e.as_array()?, o.as_array()?);
    let mut starts = Vec::new();
    let mut pc = 0;
    while pc < input.insns.len() {
        starts.push(pc);
        pc += if input.insns[pc].code == 0x18 { 2 } else { 1 };
    }
    if e.len() != o.len() || e.len() != starts.len() {
        return None;
    }
    let mut n = 0;
    for ((a, b), &pc) in e.iter().zip(o).zip(&starts) {
        if a == b {
            continue;
        }
        let (mut a, mut b) = (a.clone(), b.clone());
        a.as_object_mut()?.remove("disasm");
        b.as_object_mut()?.remove("disasm");
        if a != b || !newer_than_bpftool71(&input.insns[pc]) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// What comparing captured directories found.
#[derive(Default)]
struct Report {
    files: usize,
    lines: usize,
    newer: usize,
    failures: Vec<String>,
}

/// Renders every captured program in `dirs` and compares with bpftool's
/// files next to it.
fn compare(dirs: &[PathBuf]) -> Report {
    let mut rep = Report::default();
    for dir in dirs {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("input.json")).expect("read"))
                .expect("input.json");
        let input = parse_input(&v);
        for (file, ours) in renderings(&input) {
            // A missing golden: bpftool crashed on that dump.
            let Ok(expected) = std::fs::read_to_string(dir.join(file)) else {
                continue;
            };
            rep.files += 1;
            rep.lines += expected.lines().count();
            if ours == expected {
                continue;
            }
            let tolerated = if file.starts_with("json") {
                json_tolerated(&input, &expected, &ours)
            } else {
                lines_tolerated(&input, &expected, &ours)
            };
            match tolerated {
                Some(n) => rep.newer += n,
                None => rep.failures.push(format!(
                    "{}/{file}:\n{}",
                    dir.display(),
                    testkit::golden::diff(&expected, &ours)
                )),
            }
        }
        // The JSON value form parses to what bpftool printed.
        let p = XlatedProgram {
            insns: &input.insns,
            funcs: &input.funcs,
            lines: &input.lines,
            names: &input.names,
        };
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("json.txt")).expect("json"))
                .expect("bpftool json");
        if newer_texts(&input).is_empty() && dump_json(&p, XlatedOptions::default()) != expected {
            rep.failures.push(format!(
                "{}: dump_json differs from json.txt",
                dir.display()
            ));
        }
    }
    rep
}

fn captured_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("captured programs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("input.json").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn xlated_dumps_match_bpftool() {
    let dirs = captured_dirs(&golden_dir());
    let Report {
        files,
        lines,
        newer,
        failures,
    } = compare(&dirs);
    eprintln!(
        "xlated: {} programs, {files} dumps, {lines} lines compared with bpftool; \
         {newer} lines differ only in instructions newer than bpftool 7.1's disassembler",
        dirs.len()
    );
    assert!(dirs.len() >= 20, "only {} captured programs", dirs.len());
    assert!(
        failures.is_empty(),
        "{} of {files} dumps differ from bpftool:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------
// Capture (XLATED_CAPTURE=1): needs the kernel, bpffs and bpftool.

#[path = "xlated_golden/capture.rs"]
mod capture;

#[test]
fn capture() {
    if std::env::var_os("XLATED_CAPTURE").is_none() {
        eprintln!("SKIPPED: set XLATED_CAPTURE=1 to recapture tests/xlated from bpftool");
        return;
    }
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    capture::run(&k, &golden_dir(), "/sys/fs/bpf/oxbpf_xlated_capture", None);
}

/// The same comparison live, on this machine's kernel and bpftool, for a
/// few objects (skipped without either).
#[test]
fn live_kernel_dumps_match_bpftool() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let bpftool = std::process::Command::new("bpftool")
        .arg("version")
        .output();
    if !bpftool.is_ok_and(|o| o.status.success()) || !bpffs_mounted() {
        eprintln!("SKIPPED: bpftool or bpffs not available");
        return;
    }
    let out = std::env::temp_dir().join(format!("oxbpf_xlated_live_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("temp dir");
    let only = [
        "subprograms",
        "atomics",
        "loops_bounded",
        "bpf_loop_callback",
        "globals_config",
    ];
    let pins = format!("/sys/fs/bpf/oxbpf_xlated_live_{}", std::process::id());
    capture::run(&k, &out, &pins, Some(&only));
    let dirs = captured_dirs(&out);
    let rep = compare(&dirs);
    let _ = std::fs::remove_dir_all(&out);
    eprintln!(
        "live xlated: {} programs, {} dumps, {} lines agree with bpftool",
        dirs.len(),
        rep.files,
        rep.lines
    );
    assert!(
        dirs.len() >= 6,
        "only {} programs captured live",
        dirs.len()
    );
    assert!(rep.failures.is_empty(), "{}", rep.failures.join("\n"));
}

/// Whether a bpf filesystem is mounted at /sys/fs/bpf (bpftool pins there).
fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            l.split_whitespace().nth(1) == Some("/sys/fs/bpf")
                && l.split_whitespace().nth(2) == Some("bpf")
        })
    })
}
