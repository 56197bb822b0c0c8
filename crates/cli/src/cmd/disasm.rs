//! `oxbpf disasm FILE [section SEC] [syntax llvm|llvm19|kernel|conformance]
//! [exact|readable]`: disassembles an ELF object (recognised by its magic)
//! or raw bytecode (binary, or hex text as `oxbpf asm` prints it).
//!
//! For an object in the LLVM dialects the output is, byte for byte, what
//! `llvm-objdump -d` (14, or 19 for `syntax llvm19`) prints: the
//! `file format` header, a `Disassembly of section` block per non-empty
//! code section, a label per symbol and `<sym+0xoff>` after branches. By
//! default it is *exact* — `<unknown>` and the tool's misreadings
//! included, so that the golden tests can compare it with the real tool;
//! `readable` prints every instruction in a form `oxbpf asm` reads back.
//! Raw bytecode is printed readable by default, without the ELF headers.
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use isa::disasm::{insn_text, listing, objdump_section, Dialect, DisasmOptions, Symbol};
use isa::{Insn, RawInsn};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use std::fmt::Write as _;
use std::process::ExitCode;

struct Opts {
    section: Option<String>,
    dialect: Dialect,
    exact: Option<bool>,
}

fn parse_args(args: Vec<String>) -> CliResult<(String, Opts)> {
    let mut a = Args::new(args);
    let file = a.next("FILE")?;
    let mut o = Opts {
        section: None,
        dialect: Dialect::Llvm14,
        exact: None,
    };
    while let Some(kw) = a.next_opt() {
        match kw.as_str() {
            "section" => o.section = Some(a.next("SEC")?),
            "syntax" => {
                let s = a.next("syntax (llvm|llvm19|kernel|conformance)")?;
                o.dialect = Dialect::from_name(&s).ok_or_else(|| {
                    cli_err!("invalid syntax '{s}': expected llvm, llvm19, kernel or conformance")
                })?;
            }
            "exact" => o.exact = Some(true),
            "readable" => o.exact = Some(false),
            w => return Err(cli_err!("unexpected argument '{w}'")),
        }
    }
    Ok((file, o))
}

pub fn run(out: &Output, args: Vec<String>) -> CliResult<ExitCode> {
    let (file, o) = parse_args(args)?;
    let data = std::fs::read(&file).map_err(|e| cli_err!("{file}: {e}"))?;
    if data.starts_with(b"\x7fELF") {
        let opts = DisasmOptions {
            dialect: o.dialect,
            exact: o.exact.unwrap_or(true),
        };
        let sections = elf_sections(&file, &data, o.section.as_deref())?;
        if out.json {
            out.print_json(&json_listing(&sections, opts));
        } else {
            print!("{}", elf_listing(&file, &sections, opts));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if o.section.is_some() {
        return Err(cli_err!("{file}: 'section' needs an ELF object"));
    }
    let bytes = raw_bytes(&data);
    let prog = RawInsn::slice_from_bytes(&bytes).map_err(|e| cli_err!("{file}: {e}"))?;
    let opts = DisasmOptions {
        dialect: o.dialect,
        exact: o.exact.unwrap_or(false),
    };
    let code = CodeSection {
        name: String::new(),
        prog,
        symbols: Vec::new(),
    };
    if out.json {
        out.print_json(&json_listing(&[code], opts));
    } else if opts.dialect == Dialect::Kernel {
        // Raw bytes in the kernel dialect are typically `prog dump xlated`
        // output: name maps and subprograms as bpftool does.
        print!("{}", labelled(&code, opts));
    } else {
        print!(
            "{}",
            listing(&code.prog, opts).map_err(|e| cli_err!("{file}: {e}"))?
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The file's bytes, or the bytes its hex text spells (`b7 00 00 ...`).
fn raw_bytes(data: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(data) else {
        return data.to_vec();
    };
    let digits: String = text.split_whitespace().collect();
    let is_hex = !digits.is_empty()
        && digits.len().is_multiple_of(2)
        && digits.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex {
        return data.to_vec();
    }
    (0..digits.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect()
}

/// One code section of an object: its slots and the symbols in it.
struct CodeSection {
    name: String,
    prog: Vec<RawInsn>,
    symbols: Vec<Symbol>,
}

/// The non-empty executable sections of an object (only `only`, if given),
/// in section order, with their labels as `llvm-objdump` chooses them:
/// every symbol but section and file symbols, and the section's own name
/// where no symbol starts it.
fn elf_sections(file: &str, data: &[u8], only: Option<&str>) -> CliResult<Vec<CodeSection>> {
    let obj = object::File::parse(data).map_err(|e| cli_err!("{file}: {e}"))?;
    let mut out = Vec::new();
    for sec in obj.sections() {
        let name = sec.name().map_err(|e| cli_err!("{file}: {e}"))?.to_string();
        // The object crate classifies SHF_EXECINSTR sections as text.
        let exec = sec.kind() == SectionKind::Text;
        if !exec || only.is_some_and(|o| o != name) {
            continue;
        }
        let bytes = sec
            .data()
            .map_err(|e| cli_err!("{file}: section {name}: {e}"))?;
        if bytes.is_empty() {
            continue;
        }
        let prog = RawInsn::slice_from_bytes(bytes)
            .map_err(|e| cli_err!("{file}: section {name}: {e}"))?;
        let mut symbols: Vec<Symbol> = obj
            .symbols()
            .filter(|s| s.section_index() == Some(sec.index()))
            .filter(|s| !matches!(s.kind(), SymbolKind::Section | SymbolKind::File))
            .filter_map(|s| {
                Some(Symbol {
                    slot: usize::try_from(s.address()).ok()? / RawInsn::SIZE,
                    name: s.name().ok()?.to_string(),
                })
            })
            .collect();
        symbols.sort_by_key(|s| s.slot);
        if symbols.first().is_none_or(|s| s.slot != 0) {
            symbols.insert(
                0,
                Symbol {
                    slot: 0,
                    name: name.clone(),
                },
            );
        }
        out.push(CodeSection {
            name,
            prog,
            symbols,
        });
    }
    if let (Some(o), true) = (only, out.is_empty()) {
        return Err(cli_err!("{file}: no code section named '{o}'"));
    }
    Ok(out)
}

/// The whole text output for an object.
fn elf_listing(file: &str, sections: &[CodeSection], opts: DisasmOptions) -> String {
    let mut s = format!("\n{file}:\tfile format elf64-bpf\n");
    for sec in sections {
        let _ = write!(s, "\nDisassembly of section {}:\n", sec.name);
        match opts.dialect {
            Dialect::Llvm14 | Dialect::Llvm19 => {
                s.push_str(&objdump_section(&sec.prog, &sec.symbols, opts))
            }
            Dialect::Kernel | Dialect::Conformance => s.push_str(&labelled(sec, opts)),
        }
    }
    s
}

/// The kernel and conformance dialects of a section: `name:` before each
/// symbol, then the dialect's lines.
fn labelled(sec: &CodeSection, opts: DisasmOptions) -> String {
    let mut s = String::new();
    let mut pc = 0;
    while pc < sec.prog.len() {
        for sym in sec.symbols.iter().filter(|x| x.slot == pc) {
            let _ = write!(s, "\n{}:\n", sym.name);
        }
        let (n, text) = match Insn::decode(&sec.prog, pc) {
            Ok(insn) => (insn.slots(), insn_text_at(&insn, pc, opts)),
            Err(e) => (1, format!("<{e}>")),
        };
        match opts.dialect {
            Dialect::Kernel => {
                let _ = writeln!(s, "{pc:4}: {text}");
            }
            _ => {
                let _ = writeln!(s, "{text}");
            }
        }
        pc += n;
    }
    s
}

fn insn_text_at(insn: &Insn, pc: usize, opts: DisasmOptions) -> String {
    match opts.dialect {
        Dialect::Kernel => isa::disasm::kernel_text(insn, pc, &isa::disasm::BpftoolNames),
        _ => insn_text(insn, opts),
    }
}

/// `{"sections":[{"name":..,"insns":[{"pc":..,"bytes":..,"text":..}]}]}`.
fn json_listing(sections: &[CodeSection], opts: DisasmOptions) -> serde_json::Value {
    let secs: Vec<serde_json::Value> = sections
        .iter()
        .map(|sec| {
            let mut insns = Vec::new();
            let mut pc = 0;
            while pc < sec.prog.len() {
                let (n, text) = match Insn::decode(&sec.prog, pc) {
                    Ok(insn) => (insn.slots(), insn_text_at(&insn, pc, opts)),
                    Err(e) => (1, format!("<{e}>")),
                };
                let bytes = isa::disasm::hex_bytes(&sec.prog[pc..pc + n]);
                insns.push(serde_json::json!({ "pc": pc, "bytes": bytes, "text": text }));
                pc += n;
            }
            let syms: Vec<serde_json::Value> = sec
                .symbols
                .iter()
                .map(|s| serde_json::json!({ "name": s.name, "pc": s.slot }))
                .collect();
            serde_json::json!({ "name": sec.name, "symbols": syms, "insns": insns })
        })
        .collect();
    serde_json::json!({ "sections": secs })
}
