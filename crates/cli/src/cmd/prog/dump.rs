//! `oxbpf prog dump xlated PROG [linum] [opcodes] [visual]` and
//! `oxbpf prog dump jited PROG [opcodes]`.
//!
//! `xlated` prints what runs — the instructions after the verifier's
//! rewrites — through `isa::xlated`, bpftool's format (text, `-j`, and the
//! DOT graph of `visual`), with function prototypes from BTF and source
//! lines from line info. `jited`: the runtime interprets, so a program has
//! no machine code of its own, and we answer as bpftool does for a
//! program that was not jited.

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
        "jited" => Err(cli_err!("no instructions returned")),
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
