//! Recaptures `tests/xlated/`: loads corpus objects with bpftool (which
//! brings BTF, func and line info along), reads each program back through
//! testkit, and stores the rendering inputs next to bpftool's output.

use super::{FuncProto, SourceLine, XlatedNames};
use oxbpf_isa::RawInsn;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use testkit::Kernel;

/// Programs longer than this are left out to keep the goldens small.
const MAX_SLOTS: usize = 700;

/// bpftool's `btf_dumper_type_only`: C-ish text of a type, each part
/// followed by a space (`struct __sk_buff * skb`). `None` where bpftool
/// gives up (and prints no prototype).
fn type_text(b: &btf::Btf, id: u32, out: &mut String, depth: u32) -> Option<()> {
    use btf::Type;
    if depth > 32 {
        return None;
    }
    let name = |off: u32| b.name_by_offset(off).unwrap_or("").to_string();
    match b.type_by_id(id)? {
        Type::Void => out.push_str("void "),
        Type::Int(t) => out.push_str(&format!("{} ", name(t.name_off))),
        Type::Float(t) => out.push_str(&format!("{} ", name(t.name_off))),
        Type::Typedef(t) => out.push_str(&format!("{} ", name(t.name_off))),
        Type::Struct(c) => out.push_str(&format!("struct {} ", name(c.name_off))),
        Type::Union(c) => out.push_str(&format!("union {} ", name(c.name_off))),
        Type::Enum(e) | Type::Enum64(e) => out.push_str(&format!("enum {} ", name(e.name_off))),
        Type::Array(a) => {
            type_text(b, a.elem_type, out, depth + 1)?;
            out.push_str(&format!("[{}]", a.nelems));
        }
        Type::Ptr(r) => {
            type_text(b, r.type_id, out, depth + 1)?;
            out.push_str("* ");
        }
        Type::Fwd(f) => {
            let k = match f.kind {
                btf::FwdKind::Union => "union",
                btf::FwdKind::Struct => "struct",
            };
            out.push_str(&format!("{k} {} ", name(f.name_off)));
        }
        Type::Volatile(r) => {
            out.push_str("volatile ");
            type_text(b, r.type_id, out, depth + 1)?;
        }
        Type::Const(r) => {
            out.push_str("const ");
            type_text(b, r.type_id, out, depth + 1)?;
        }
        Type::Restrict(r) => {
            out.push_str("restrict ");
            type_text(b, r.type_id, out, depth + 1)?;
        }
        Type::Func(f) => {
            let Type::FuncProto(p) = b.type_by_id(f.proto)? else {
                return None;
            };
            type_text(b, p.ret_type, out, depth + 1)?;
            out.push_str(&format!("{}(", name(f.name_off)));
            for (i, a) in p.params.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if a.type_id == 0 {
                    out.push_str("...");
                } else {
                    type_text(b, a.type_id, out, depth + 1)?;
                    out.push_str(&name(a.name_off));
                }
            }
            out.push(')');
        }
        _ => return None,
    }
    Some(())
}

fn proto_text(b: &btf::Btf, id: u32) -> String {
    let mut s = String::new();
    match type_text(b, id, &mut s, 0) {
        Some(()) => s,
        None => String::new(),
    }
}

fn kallsyms() -> (u64, BTreeMap<u64, String>) {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut syms = BTreeMap::new();
    let mut base = 0;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(a), Some(_), Some(n)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(a, 16) else {
            continue;
        };
        if n == "__bpf_call_base" {
            base = addr;
        }
        if addr != 0 {
            syms.entry(addr).or_insert_with(|| n.to_string());
        }
    }
    (base, syms)
}

fn bpftool(args: &[&str]) -> Option<String> {
    let out = Command::new("bpftool").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn input_json(
    object: &str,
    prog: &str,
    insns: &[RawInsn],
    funcs: &[FuncProto],
    lines: &[SourceLine],
    names: &XlatedNames,
) -> Value {
    let hex = |r: &RawInsn| {
        r.to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let strmap = |m: Vec<(String, String)>| {
        m.into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "object": object,
        "prog": prog,
        "insns": insns.iter().map(hex).collect::<Vec<_>>(),
        "funcs": funcs.iter().map(|f| json!({"insn_off": f.insn_off, "proto": f.proto})).collect::<Vec<_>>(),
        "lines": lines.iter().map(|l| json!({
            "insn_off": l.insn_off, "file": l.file, "src": l.src, "line": l.line, "col": l.col
        })).collect::<Vec<_>>(),
        "names": {
            "call_syms": strmap(names.call_syms.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
            "call_base": names.call_base,
            "jited": names.jited,
            "subprog_syms": strmap(names.subprog_syms.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()),
        },
    })
}

/// Captures the corpus objects (or only those named in `only`), pinning
/// under `pin_root` on bpffs, into one directory per program in `out_dir`.
pub fn run(k: &Kernel, out_dir: &Path, pin_root: &str, only: Option<&[&str]>) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/obj");
    assert!(
        kallsyms().0 != 0,
        "kallsyms addresses hidden (kptr_restrict)"
    );
    let mut objs: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus/obj")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    objs.sort();
    let _ = std::fs::remove_dir_all(pin_root);
    std::fs::create_dir_all(pin_root).expect("pin root on bpffs");
    let mut captured = 0;
    for obj in objs {
        let stem = obj
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if stem.starts_with("reject_") || only.is_some_and(|o| !o.contains(&stem.as_str())) {
            continue;
        }
        let pin = format!("{pin_root}/{stem}");
        if bpftool(&["prog", "loadall", &obj.to_string_lossy(), &pin]).is_none() {
            eprintln!("{stem}: bpftool loadall failed, skipped");
            let _ = std::fs::remove_dir_all(&pin);
            continue;
        }
        // Read after loading: the jited functions are in it now.
        let (call_base, syms) = kallsyms();
        let btf = oxbpf_object::ObjectSpec::open(&obj)
            .ok()
            .and_then(|s| s.btf);
        let mut pins: Vec<_> = std::fs::read_dir(&pin)
            .expect("pins")
            .map(|e| e.expect("entry").path())
            .collect();
        pins.sort();
        for p in pins {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let prog = k.prog_from_pin(&p).expect("open pinned prog");
            let info = prog.info().expect("info");
            let insns = prog.xlated_insns().expect("xlated");
            if insns.len() > MAX_SLOTS {
                continue;
            }
            let rec = prog.records().expect("records");
            let (mut funcs, mut lines) = (Vec::new(), Vec::new());
            if let (Some(b), true) = (&btf, info.btf_id != 0) {
                for f in &rec.func_info {
                    funcs.push(FuncProto {
                        insn_off: f.insn_off,
                        proto: proto_text(b, f.type_id),
                    });
                }
                for l in &rec.line_info {
                    let (Some(file), Some(src)) = (
                        b.name_by_offset(l.file_name_off),
                        b.name_by_offset(l.line_off),
                    ) else {
                        continue;
                    };
                    lines.push(SourceLine {
                        insn_off: l.insn_off,
                        file: file.to_string(),
                        src: src.to_string(),
                        line: l.line_col >> 10,
                        col: l.line_col & 0x3ff,
                    });
                }
            }
            let mut names = XlatedNames {
                call_base,
                jited: !rec.jited_ksyms.is_empty(),
                ..Default::default()
            };
            for (pc, r) in insns.iter().enumerate() {
                if r.code != 0x85 {
                    continue;
                }
                match r.src {
                    0 | 2 => {
                        let addr = call_base.wrapping_add(r.imm as i64 as u64);
                        if let Some(s) = syms.get(&addr) {
                            names.call_syms.insert(r.imm, s.clone());
                        }
                    }
                    1 => {
                        let sym = usize::try_from(r.imm)
                            .ok()
                            .and_then(|i| rec.jited_ksyms.get(i))
                            .and_then(|a| syms.get(a));
                        let target = pc as i64 + 1 + r.off as i64;
                        if let (Some(s), Ok(t)) = (sym, usize::try_from(target)) {
                            names.subprog_syms.insert(t, s.clone());
                        }
                    }
                    _ => {}
                }
            }
            let dir = out_dir.join(format!("{stem}__{name}"));
            std::fs::create_dir_all(&dir).expect("golden dir");
            let v = input_json(&stem, &name, &insns, &funcs, &lines, &names);
            let text = serde_json::to_string_pretty(&v).expect("json") + "\n";
            std::fs::write(dir.join("input.json"), text).expect("write");
            let id = info.id.to_string();
            for (file, args) in [
                ("plain.txt", vec!["prog", "dump", "xlated", "id", &id]),
                (
                    "opcodes.txt",
                    vec!["prog", "dump", "xlated", "id", &id, "opcodes"],
                ),
                (
                    "linum.txt",
                    vec!["prog", "dump", "xlated", "id", &id, "linum"],
                ),
                (
                    "visual.dot",
                    vec!["prog", "dump", "xlated", "id", &id, "visual"],
                ),
                ("json.txt", vec!["-j", "prog", "dump", "xlated", "id", &id]),
                (
                    "json_opcodes.txt",
                    vec!["-j", "prog", "dump", "xlated", "id", &id, "opcodes"],
                ),
                (
                    "json_linum.txt",
                    vec!["-j", "prog", "dump", "xlated", "id", &id, "linum"],
                ),
                (
                    "json_pretty.txt",
                    vec!["-p", "prog", "dump", "xlated", "id", &id],
                ),
                (
                    "json_pretty_opcodes.txt",
                    vec!["-p", "prog", "dump", "xlated", "id", &id, "opcodes"],
                ),
                (
                    "json_pretty_linum.txt",
                    vec!["-p", "prog", "dump", "xlated", "id", &id, "linum"],
                ),
            ] {
                // bpftool 7.1 crashes drawing some graphs (bpf-to-bpf
                // calls whose callee its block search cannot find): no
                // golden then.
                let Some(out) = bpftool(&args) else {
                    eprintln!("{stem}::{name}: bpftool {args:?} failed, no {file}");
                    let _ = std::fs::remove_file(dir.join(file));
                    continue;
                };
                std::fs::write(dir.join(file), out).expect("write golden");
            }
            captured += 1;
        }
        let _ = std::fs::remove_dir_all(&pin);
    }
    let _ = std::fs::remove_dir_all(pin_root);
    eprintln!("captured {captured} programs into {}", out_dir.display());
}
