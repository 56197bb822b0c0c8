//! `oxbpf prog dump xlated PROG [linum] [opcodes] [visual]` and
//! `oxbpf prog dump jited PROG [opcodes]`.
//!
//! `xlated` prints what runs — the instructions after the verifier's
//! rewrites — through `isa::xlated`, bpftool's format (text, `-j`, and the
//! DOT graph of `visual`), with function prototypes from BTF and source
//! lines from line info. `jited`: the x86-64 code of the runtime's JIT
//! (compiled on demand, what `prog run … engine jit` runs), AT&T syntax as
//! bpftool prints it, source lines from line info before their code.

use super::pin::runtime;
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use btf::{Btf, Type};
use isa::xlated::{FuncProto, SourceLine, XlatedNames, XlatedOptions, XlatedProgram};
use std::process::ExitCode;

pub fn run(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let what = args.next("'xlated' or 'jited'")?;
    let rt = runtime()?;
    let prog = super::resolve(&rt, &mut args)?;
    let mut opts = XlatedOptions::default();
    let mut visual = false;
    while let Some(w) = args.next_opt() {
        match w.as_str() {
            "linum" => opts.linum = true,
            "opcodes" => opts.opcodes = true,
            "visual" => visual = true,
            other => return Err(cli_err!("unknown keyword '{other}'")),
        }
    }
    match what.as_str() {
        "xlated" => {
            let funcs: Vec<FuncProto> = prog
                .func_info()
                .iter()
                .map(|f| FuncProto {
                    insn_off: f.insn_off,
                    proto: prog
                        .btf()
                        .and_then(|b| func_proto(b, &f.name))
                        .unwrap_or_else(|| format!("{}()", f.name)),
                })
                .collect();
            let lines: Vec<SourceLine> = prog
                .line_info()
                .iter()
                .map(|l| SourceLine {
                    insn_off: l.insn_off,
                    file: l.file.clone(),
                    src: l.text.clone(),
                    line: l.line,
                    col: l.col,
                })
                .collect();
            let names = XlatedNames::default();
            let p = XlatedProgram {
                insns: prog.xlated(),
                funcs: &funcs,
                lines: &lines,
                names: &names,
            };
            if visual {
                print!("{}", isa::xlated::dump_visual(&p));
            } else if out.json {
                out.print_json(&isa::xlated::dump_json(&p, opts));
            } else {
                print!("{}", isa::xlated::dump_plain(&p, opts));
            }
            Ok(ExitCode::SUCCESS)
        }
        "jited" => {
            if visual || opts.linum {
                return Err(cli_err!("'visual' and 'linum' are for 'dump xlated'"));
            }
            // Compiled on demand with the runtime's JIT (what
            // `prog run … engine jit` runs).
            let Some(code) = prog.jited() else {
                let why = prog.jit_error().unwrap_or_default();
                return Err(cli_err!("no instructions returned ({why})"));
            };
            let mut notes: Vec<(u32, String)> = prog
                .line_info()
                .iter()
                .filter_map(|l| {
                    let off = code.slot_offset(l.insn_off as usize)?;
                    Some((off, l.text.trim_start().to_string()))
                })
                .collect();
            notes.sort_by_key(|n| n.0);
            // bpftool's libbfd format, at the image's real address (so
            // call and jump targets read as absolute addresses, as there).
            let base = code.code().as_ptr() as u64;
            let listing = with_notes(&jit::dump_jited(code.code(), base, opts.opcodes), &notes);
            let proto = prog
                .btf()
                .and_then(|b| func_proto(b, prog.name()))
                .unwrap_or_else(|| format!("{}()", prog.name()));
            let tag = isa::tag::tag_hex(&isa::tag::prog_tag(prog.insns()));
            if out.json {
                let lines: Vec<&str> = listing.lines().collect();
                out.print_json(&serde_json::json!([{
                    "name": format!("bpf_prog_{tag}_{}", prog.name()),
                    "proto": proto,
                    "insns": lines,
                }]));
            } else {
                println!("{proto}:");
                println!("bpf_prog_{tag}_{}:", prog.name());
                print!("{listing}");
            }
            Ok(ExitCode::SUCCESS)
        }
        other => Err(cli_err!("expected 'xlated' or 'jited', got: {other}")),
    }
}

/// The prototype of function `name` as bpftool's `btf_dumper_type_only`
/// prints it: `int xdp_prog(struct xdp_md * ctx)`.
fn func_proto(btf: &Btf, name: &str) -> Option<String> {
    let id = btf.find_by_name(btf::Kind::Func, name)?;
    let Ok(Type::Func(f)) = btf.get(id) else {
        return None;
    };
    let Ok(Type::FuncProto(p)) = btf.get(f.proto) else {
        return None;
    };
    let params: Vec<String> = p
        .params
        .iter()
        .map(|a| {
            if a.type_id == 0 {
                return "...".to_string();
            }
            let pname = btf.name_by_offset(a.name_off).unwrap_or("");
            format!("{} {pname}", type_text(btf, a.type_id, 0))
                .trim_end()
                .to_string()
        })
        .collect();
    Some(format!(
        "{} {name}({})",
        type_text(btf, p.ret_type, 0),
        params.join(", ")
    ))
}

fn type_text(btf: &Btf, id: u32, depth: u32) -> String {
    if depth > 16 {
        return "?".into();
    }
    let name = |off| btf.name_by_offset(off).unwrap_or("").to_string();
    match btf.get(id) {
        Ok(Type::Void) => "void".into(),
        Ok(Type::Int(i)) => name(i.name_off),
        Ok(Type::Float(f)) => name(f.name_off),
        Ok(Type::Typedef(r)) => name(r.name_off),
        Ok(Type::Struct(c)) => format!("struct {}", name(c.name_off)),
        Ok(Type::Union(c)) => format!("union {}", name(c.name_off)),
        Ok(Type::Enum(e)) | Ok(Type::Enum64(e)) => format!("enum {}", name(e.name_off)),
        Ok(Type::Fwd(f)) => name(f.name_off),
        Ok(Type::Ptr(r)) => format!("{} *", type_text(btf, r.type_id, depth + 1)),
        Ok(Type::Const(r)) => format!("const {}", type_text(btf, r.type_id, depth + 1)),
        Ok(Type::Volatile(r)) => format!("volatile {}", type_text(btf, r.type_id, depth + 1)),
        Ok(Type::Restrict(r)) | Ok(Type::TypeTag(r)) => type_text(btf, r.type_id, depth + 1),
        Ok(Type::Array(a)) => format!("{}[{}]", type_text(btf, a.elem_type, depth + 1), a.nelems),
        _ => "?".into(),
    }
}

/// Puts `; note` lines before the first instruction line (`"%4x:\t…"`) at
/// or past each note's offset.
fn with_notes(listing: &str, notes: &[(u32, String)]) -> String {
    let mut out = String::with_capacity(listing.len());
    let mut next = 0;
    for line in listing.lines() {
        let off = line
            .split_once(':')
            .and_then(|(o, _)| u32::from_str_radix(o.trim(), 16).ok())
            .filter(|_| !line.starts_with('\t'));
        if let Some(off) = off {
            while let Some((at, note)) = notes.get(next) {
                if *at > off {
                    break;
                }
                out.push_str("; ");
                out.push_str(note);
                out.push('\n');
                next += 1;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
