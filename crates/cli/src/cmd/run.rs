//! `oxbpf run FILE [mem FILE] [engine interp|jit] [syntax llvm|conformance]`:
//! run a program over a memory file and print r0.
//!
//! FILE may be
//! * assembly text (`.s` and anything that reads as text): llvm syntax by
//!   default, `syntax conformance` for the conformance suite's;
//! * a bpf_conformance test (`.data`): its `-- asm` section, and its
//!   `-- mem` section as the memory unless `mem` is given;
//! * an ELF object: function `main` of `.text` (or the whole `.text`/`xdp`
//!   section);
//! * raw bytecode: anything else (8 bytes per instruction slot).
//!
//! The program runs in the checked interpreter with r1 = the address of a
//! copy of the memory (0 without memory), r2 = its length, the memory also
//! being the packet of legacy `ldabs`/`ldind` loads — the conventions of
//! the conformance suite, uBPF and rbpf. Helpers: `bpf_ktime_get_ns`,
//! `bpf_get_prandom_u32`, `bpf_get_smp_processor_id`. Prints r0 in decimal
//! (JSON: `{"retval":R,"insns":N}` with N the instruction slots executed).
//! `engine jit` runs it compiled by the JIT instead, vetted first by the
//! checked interpreter (see `conformance::run_jit_vetted`); JSON then has
//! no `insns`.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use isa::asm::{assemble_bytes, Syntax};
use std::process::ExitCode;
use vm::{HelperRegistry, Machine, PrepareOptions, Program};

/// What `run` executes: the code bytes and, from a `.data` file, memory.
struct Input {
    code: Vec<u8>,
    mem: Option<Vec<u8>>,
}

pub fn run(out: &Output, args: Vec<String>) -> CliResult<ExitCode> {
    let mut a = Args::new(args);
    let file = a.next("FILE")?;
    let mut mem_file = None;
    let mut syntax = None;
    let mut jit = false;
    while let Some(kw) = a.next_opt() {
        match kw.as_str() {
            "mem" => mem_file = Some(a.next("memory FILE")?),
            "engine" => match a.next("engine (interp|jit)")?.as_str() {
                "interp" => jit = false,
                "jit" => jit = true,
                e => return Err(cli_err!("invalid engine '{e}': expected interp or jit")),
            },
            "syntax" => {
                let s = a.next("syntax (llvm|conformance)")?;
                syntax = Some(Syntax::from_name(&s).ok_or_else(|| {
                    cli_err!("invalid syntax '{s}': expected llvm or conformance")
                })?);
            }
            w => return Err(cli_err!("unexpected argument '{w}'")),
        }
    }
    let bytes = std::fs::read(&file).map_err(|e| cli_err!("{file}: {e}"))?;
    let input = load(&bytes, syntax).map_err(|e| cli_err!("{file}: {e}"))?;
    let mut mem = match mem_file {
        Some(m) => std::fs::read(&m).map_err(|e| cli_err!("{m}: {e}"))?,
        None => input.mem.unwrap_or_default(),
    };
    let helpers = HelperRegistry::with_builtins();
    if jit {
        let r0 = super::conformance::run_jit_vetted(
            &input.code,
            &PrepareOptions::new(&helpers),
            &mut mem,
        )
        .map_err(|e| cli_err!("{file}: {e}"))?;
        if out.json {
            out.print_json(&serde_json::json!({ "retval": r0 }));
        } else {
            println!("{r0}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let prog = Program::from_bytes(&input.code, &PrepareOptions::new(&helpers))
        .map_err(|e| cli_err!("{file}: {e}"))?;
    let mut machine = Machine::new();
    let r0 = machine
        .run_on_memory(&prog, &mut mem)
        .map_err(|e| cli_err!("{file}: {e}"))?;
    if out.json {
        out.print_json(&serde_json::json!({ "retval": r0, "insns": machine.executed() }));
    } else {
        println!("{r0}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Recognises the kind of FILE and produces its bytecode.
fn load(bytes: &[u8], syntax: Option<Syntax>) -> Result<Input, String> {
    if bytes.starts_with(b"\x7fELF") {
        let code = super::conformance::elf_program(bytes)?;
        return Ok(Input { code, mem: None });
    }
    // Bytecode nearly always holds zero bytes; text never does.
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| !t.contains('\0'));
    let Some(text) = text else {
        return Ok(Input {
            code: bytes.to_vec(),
            mem: None,
        });
    };
    if let Some((asm, mem)) = conformance_sections(text) {
        let code = assemble_bytes(&asm, syntax.unwrap_or(Syntax::Conformance))
            .map_err(|e| e.to_string())?;
        let mem = mem.map(|m| super::conformance::parse_hex(&m)).transpose()?;
        return Ok(Input { code, mem });
    }
    let code = assemble_bytes(text, syntax.unwrap_or(Syntax::Llvm)).map_err(|e| e.to_string())?;
    Ok(Input { code, mem: None })
}

/// The `-- asm` and `-- mem` sections of a bpf_conformance `.data` file
/// (`None` if the text has no `-- asm` line).
fn conformance_sections(text: &str) -> Option<(String, Option<String>)> {
    let mut section = None;
    let (mut asm, mut mem) = (None::<String>, None::<String>);
    for line in text.lines() {
        if let Some(name) = line.trim_start().strip_prefix("--") {
            section = Some(name.trim().to_string());
            match name.trim() {
                "asm" => asm = Some(String::new()),
                "mem" => mem = Some(String::new()),
                _ => {}
            }
            continue;
        }
        let body = line.split('#').next().unwrap_or("");
        match section.as_deref() {
            Some("asm") => asm.as_mut()?.push_str(&format!("{line}\n")),
            Some("mem") => mem.as_mut()?.push_str(&format!("{body}\n")),
            _ => {}
        }
    }
    Some((asm?, mem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance_files_give_asm_and_memory() {
        let text = "# c\n-- asm\nmov %r0, 1 # one\nexit\n-- mem\n00 01 # m\n-- result\n0x1\n";
        let (asm, mem) = conformance_sections(text).unwrap();
        assert_eq!(asm, "mov %r0, 1 # one\nexit\n");
        assert_eq!(mem.as_deref(), Some("00 01 \n"));
        assert!(conformance_sections("r0 = 1\nexit\n").is_none());
    }

    #[test]
    fn loads_text_and_raw_bytes() {
        let raw = [0xb7u8, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(load(&raw, None).unwrap().code, raw);
        let ascii = [0x07u8, 1, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(load(&ascii, None).unwrap().code, ascii);
        assert_eq!(load(b"r0 = 7\nexit\n", None).unwrap().code, raw);
        let data = load(b"-- asm\nmov %r0, 7\nexit\n-- mem\nff\n", None).unwrap();
        assert_eq!(data.code, raw);
        assert_eq!(data.mem, Some(vec![0xff]));
        assert!(load(b"r0 = \n", None).is_err());
    }
}
