//! `oxbpf conformance-plugin`: the bpf_conformance plugin protocol
//! (`testdata/conformance/PROTOCOL.md`).
//!
//! ```text
//! oxbpf conformance-plugin [MEMORY] [--elf] [--program HEX] [--interpret | --jit]
//! ```
//!
//! The program arrives on stdin as hex bytes (or, with `--elf`, as the hex of
//! an ELF object whose `.text`/`xdp` section holds it under symbol `main`);
//! the optional first argument is the memory, also hex. The program runs in
//! the checked interpreter with r1 = a private copy of the memory, r2 = its
//! length, helper 5 returning its first argument and `callx` accepting helper
//! numbers. Success prints r0 in hex; failure prints one line and exits 1.
//! With `--jit` the program runs compiled by the x86-64 JIT instead (see
//! [`run_jit_vetted`] for what stands in for the verifier until there is
//! one).

use object::{Object, ObjectSection, ObjectSymbol};
use std::ffi::OsString;
use std::io::Read;
use std::process::ExitCode;
use uapi::HelperId;
use vm::{helpers, HelperRegistry, Machine, PrepareOptions, Program};

/// Instructions one test may execute: far more than any test needs, few
/// enough that an endless loop ends in about a second.
const BUDGET: u64 = 1_000_000_000;

/// The bpf_conformance runner (and `check.py`) put the memory argument
/// right after the plugin executable: `oxbpf MEMORY conformance-plugin ...`
/// when the plugin command is `oxbpf conformance-plugin`. This moves it
/// after the subcommand, where the plugin expects it; any other command
/// line is returned unchanged.
pub fn runner_argv(mut argv: Vec<OsString>) -> Vec<OsString> {
    let is_memory = |a: &OsString| {
        a.to_str()
            .is_some_and(|s| !s.trim().is_empty() && parse_hex(s).is_ok())
    };
    if argv.len() >= 3 && argv[2] == "conformance-plugin" && is_memory(&argv[1]) {
        argv.swap(1, 2);
    }
    argv
}

pub fn run(args: Vec<String>) -> ExitCode {
    match plugin(args) {
        Ok(r0) => {
            println!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            // One line: the runner compares the first line with `-- error`.
            println!("{}", msg.replace(['\n', '\r'], " "));
            ExitCode::from(1)
        }
    }
}

/// What the command line asked for.
#[derive(Debug, Default, PartialEq)]
struct Options {
    memory: Option<Vec<u8>>,
    elf: bool,
    program: Option<String>,
    jit: bool,
}

fn parse_args(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.into_iter().filter(|a| !a.is_empty());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--elf" => o.elf = true,
            "--program" => o.program = Some(it.next().ok_or("--program needs a value")?),
            // The interpreter is the only engine; accept the usual spelling.
            "--interpret" | "--interpreter" => o.jit = false,
            "--jit" => o.jit = true,
            opt if opt.starts_with("--") => return Err(format!("unknown option {opt}")),
            mem if o.memory.is_none() => o.memory = Some(parse_hex(mem)?),
            extra => return Err(format!("unexpected argument {extra:.20}")),
        }
    }
    Ok(o)
}

/// Hex bytes separated by any whitespace (the runner writes `b4  00  `).
pub(crate) fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    s.split_whitespace()
        .map(|t| u8::from_str_radix(t, 16).map_err(|_| format!("invalid hex byte '{t:.8}'")))
        .collect()
}

fn plugin(args: Vec<String>) -> Result<u64, String> {
    let opts = parse_args(args)?;
    let text = match opts.program {
        Some(p) => p,
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("reading stdin: {e}"))?;
            s
        }
    };
    let bytes = parse_hex(&text)?;
    let code = if opts.elf {
        elf_program(&bytes)?
    } else {
        bytes
    };
    let mut helpers = HelperRegistry::new();
    helpers.register(HelperId(5), helpers::conformance_unwind);
    let prep = PrepareOptions {
        callx_helper_ids: true,
        ..PrepareOptions::new(&helpers)
    };
    let mut mem = opts.memory.unwrap_or_default();
    if opts.jit {
        return run_jit_vetted(&code, &prep, &mut mem);
    }
    let prog = Program::from_bytes(&code, &prep).map_err(|e| e.to_string())?;
    let mut vm = Machine::new();
    vm.set_budget(BUDGET);
    vm.run_on_memory(&prog, &mut mem).map_err(|e| e.to_string())
}

/// Runs `code` over `mem` compiled by the JIT.
///
/// Compiled code checks no memory access and has no instruction budget:
/// it is for verified programs, and until the verifier exists the program
/// is trusted, as the conformance plugin trusts the suite's programs and
/// `oxbpf run` trusts the user's own file. To turn the likely mistakes into
/// errors rather than crashes, the exact run is vetted first in the checked
/// interpreter on a copy of the memory: if that run stops on an invalid or
/// misaligned access or an exhausted budget, its error is reported and
/// nothing runs compiled. That covers every program whose path depends only
/// on its memory (not on addresses, time or random numbers); errors that
/// compiled code reports itself — a bad `callx`, call depth, helper faults
/// — come from the JIT.
#[allow(unsafe_code)]
pub(crate) fn run_jit_vetted(
    code: &[u8],
    prep: &PrepareOptions<'_>,
    mem: &mut [u8],
) -> Result<u64, String> {
    let prog = Program::from_bytes(code, prep).map_err(|e| e.to_string())?;
    let mut vm = Machine::new();
    vm.set_budget(BUDGET);
    let mut scratch = mem.to_vec();
    if let Err(
        e @ (vm::VmError::MemoryAccess { .. }
        | vm::VmError::MisalignedAtomic { .. }
        | vm::VmError::BudgetExhausted { .. }),
    ) = vm.run_on_memory(&prog, &mut scratch)
    {
        return Err(e.to_string());
    }
    let opts = jit::CompileOptions::new(*prep);
    // SAFETY: the program is trusted by whoever ran this command (see the
    // doc comment), and the checked interpreter just ran it on this memory
    // without an invalid access and within its budget.
    let compiled =
        unsafe { jit::JitProgram::from_bytes_trusted(code, &opts) }.map_err(|e| e.to_string())?;
    compiled.run_on_memory(mem).map_err(|e| e.to_string())
}

/// The code of function `main` in section `.text` or `xdp` of an ELF object
/// (the whole section if there is no `main`).
pub(crate) fn elf_program(data: &[u8]) -> Result<Vec<u8>, String> {
    let file = object::File::parse(data).map_err(|e| format!("invalid ELF object: {e}"))?;
    let main = file.symbols().find(|s| s.name() == Ok("main"));
    let section = match main.as_ref().and_then(|s| s.section_index()) {
        Some(i) => file.section_by_index(i).map_err(|e| e.to_string())?,
        None => file
            .section_by_name(".text")
            .or_else(|| file.section_by_name("xdp"))
            .ok_or("no .text or xdp section")?,
    };
    let code = section.data().map_err(|e| e.to_string())?;
    let Some(sym) = main else {
        return Ok(code.to_vec());
    };
    let start = sym.address().saturating_sub(section.address());
    let end = if sym.size() == 0 {
        code.len() as u64
    } else {
        start.saturating_add(sym.size())
    };
    usize::try_from(start)
        .ok()
        .zip(usize::try_from(end).ok())
        .and_then(|(s, e)| code.get(s..e))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "symbol main lies outside its section".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn memory_is_the_optional_first_argument() {
        let o = parse_args(args(&["00  01  ", "", "--elf"])).unwrap();
        assert_eq!(o.memory, Some(vec![0, 1]));
        assert!(o.elf);
        let o = parse_args(args(&["--elf"])).unwrap();
        assert_eq!(o.memory, None);
        assert!(parse_args(args(&["--jit"])).unwrap().jit);
        assert!(parse_args(args(&["--jot"])).is_err());
        assert!(parse_args(args(&["00", "01"])).is_err());
        assert!(parse_args(args(&["zz"])).is_err());
    }

    #[test]
    fn memory_before_the_subcommand_moves_after_it() {
        let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            runner_argv(v(&["oxbpf", "01  02  ", "conformance-plugin", "--elf"])),
            v(&["oxbpf", "conformance-plugin", "01  02  ", "--elf"])
        );
        let other = v(&["oxbpf", "run", "conformance-plugin"]);
        assert_eq!(runner_argv(other.clone()), other);
        let flag = v(&["oxbpf", "-j", "conformance-plugin"]);
        assert_eq!(runner_argv(flag.clone()), flag);
    }

    #[test]
    fn runs_a_program_given_with_program() {
        // mov r0, r2 ; exit with 3 bytes of memory
        let r = plugin(args(&[
            "01 02 03",
            "--program",
            "bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00",
        ]));
        assert_eq!(r, Ok(3));
        let bad = plugin(args(&["--program", "ff 00 00 00 00 00 00 00"]));
        assert_eq!(bad, Err("insn 0: unknown opcode ff".to_string()));
    }
}
