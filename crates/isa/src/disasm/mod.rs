//! Instruction text in four dialects, from one decoded [`Insn`].
//!
//! Every dialect is a function of the typed instruction (plus, for branch
//! annotations and kernel names, a little context), so the verifier log,
//! `prog dump xlated`, the CLI and the golden tests all print through the
//! same code:
//!
//! * [`Dialect::Llvm14`] — `llvm-objdump` 14: C-like, decimal (`r0 = 1`,
//!   `if r1 == 0 goto +1`, `*(u32 *)(r10 - 4) = r0`, `r1 = 0 ll`).
//! * [`Dialect::Llvm19`] — `llvm-objdump` 19: the same with hexadecimal
//!   immediates and offsets, and the cpu-v4 mnemonics (`r4 s/= r2`,
//!   `r1 = (s8)r4`, `r4 = bswap64 r4`, `gotol +0x2`).
//! * [`Dialect::Kernel`] — the kernel's `kernel/bpf/disasm.c`, as the
//!   verifier log and `bpftool prog dump xlated` print it (`(b7) r0 = 2`,
//!   `if r1 == 0x0 goto pc+1`, `call bpf_map_lookup_elem#1`).
//! * [`Dialect::Conformance`] — the bpf_conformance suite's assembler syntax
//!   (`mov32 %r0, 0`, `ldxw %r0, [%r1+4]`, `lock fetch add [%r1], %r2`).
//!
//! The LLVM dialects have two modes ([`DisasmOptions::exact`]). *Exact* is
//! what plain `llvm-objdump -d` prints, byte for byte, including its
//! `<unknown>` for encodings that version cannot decode without `--mattr`
//! and its misreadings (llvm 14 reads `sdiv` as `/=` and `movsx` as a plain
//! move); the golden tests compare it with the real tools. *Readable* (the
//! default) prints every instruction in a form our assembler reads back to
//! the same bytes: where the tool prints `<unknown>` or misreads, the
//! llvm-19 spelling in the dialect's number base; where no llvm version is
//! unambiguous, a spelling of ours: `call pc+3` (local call, as the kernel
//! prints it), `call kfunc ID[, MODULE]`, `ld_pseudo r1, SRC, IMM[, IMM2]`
//! (the second slot's `imm` added when non-zero), `callx N` (the legacy
//! encoding with the register number in `imm`) and `skb[rN + IMM]`.
//!
//! [`objdump_section`] adds what `llvm-objdump` prints around the
//! instructions of a section: symbol labels and branch-target annotations.

pub(crate) mod conformance;
mod kernel;
mod llvm;

pub use kernel::{default_helper_name, kernel_text, BpftoolNames, DefaultKernelNames, KernelNames};

use crate::{decode_program, Insn, RawInsn};
use std::fmt::Write as _;

/// The text `llvm-objdump` prints for a slot it cannot decode.
pub const UNKNOWN: &str = "<unknown>";

/// Which tool's spelling to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `llvm-objdump` 14 (decimal).
    Llvm14,
    /// `llvm-objdump` 19 (hexadecimal).
    Llvm19,
    /// The kernel's verifier log / `bpftool prog dump xlated`.
    Kernel,
    /// The bpf_conformance suite's assembler syntax.
    Conformance,
}

impl Dialect {
    /// Parses a CLI name: `llvm`/`llvm14`, `llvm19`, `kernel`, `conformance`.
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name {
            "llvm" | "llvm14" => Some(Dialect::Llvm14),
            "llvm19" => Some(Dialect::Llvm19),
            "kernel" => Some(Dialect::Kernel),
            "conformance" => Some(Dialect::Conformance),
            _ => None,
        }
    }
}

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DisasmOptions {
    pub dialect: Dialect,
    /// LLVM dialects only: print exactly what plain `llvm-objdump -d` prints
    /// (with `<unknown>` and the tool's misreadings) instead of text that
    /// assembles back to the same bytes. Ignored by the other dialects.
    pub exact: bool,
}

impl DisasmOptions {
    /// Readable (re-assemblable) text in `dialect`.
    pub const fn new(dialect: Dialect) -> Self {
        DisasmOptions {
            dialect,
            exact: false,
        }
    }

    /// Byte-exact `llvm-objdump` emulation for the LLVM dialects.
    pub const fn exact(dialect: Dialect) -> Self {
        DisasmOptions {
            dialect,
            exact: true,
        }
    }
}

/// The text of one instruction, without any address or branch annotation.
///
/// The kernel dialect uses [`DefaultKernelNames`] (helper names from the
/// uapi table, raw numbers for maps) and includes the `(op) ` prefix; use
/// [`kernel_text`] to name maps and subprograms.
pub fn insn_text(insn: &Insn, opts: DisasmOptions) -> String {
    match opts.dialect {
        Dialect::Llvm14 => llvm::text(insn, llvm::Version::V14, opts.exact),
        Dialect::Llvm19 => llvm::text(insn, llvm::Version::V19, opts.exact),
        Dialect::Kernel => kernel_text(insn, 0, &DefaultKernelNames),
        Dialect::Conformance => conformance::text(insn),
    }
}

/// Whether `llvm-objdump` follows this instruction's text with a
/// `<sym+0xoff>` annotation of its branch target: only `goto`, `gotol` and
/// conditional jumps it could decode.
pub fn llvm_annotates(insn: &Insn, text: &str) -> bool {
    matches!(insn, Insn::Ja { .. } | Insn::Jump { .. }) && text != UNKNOWN
}

/// The hex bytes column of an `llvm-objdump` line: each byte as two
/// lowercase digits, separated by single spaces.
pub fn hex_bytes(slots: &[RawInsn]) -> String {
    let mut s = String::with_capacity(slots.len() * 24);
    for (i, b) in slots.iter().flat_map(|r| r.to_bytes()).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A listing of a raw program (no ELF): one line per instruction.
///
/// * LLVM dialects: `llvm-objdump`'s body lines, `%8d:\t<bytes>\t<text>`.
/// * Kernel: `bpftool prog dump xlated`'s lines, `%4d: (op) text`.
/// * Conformance: the bare instructions, one per line, with a label
///   `L<slot>:` before every branch target (`jeq %r1, 0, L7`,
///   `call local L12`), so that the output assembles back to the input.
///
/// Slots that do not decode are printed as `<unknown>` (LLVM, one slot at a
/// time, as the tool does) or stop the listing with an error (other
/// dialects), so the error names the slot index.
pub fn listing(prog: &[RawInsn], opts: DisasmOptions) -> Result<String, crate::DecodeError> {
    let mut out = String::new();
    match opts.dialect {
        Dialect::Llvm14 | Dialect::Llvm19 => {
            let mut pc = 0;
            while pc < prog.len() {
                let (n, text) = match Insn::decode(prog, pc) {
                    Ok(insn) => (insn.slots(), insn_text(&insn, opts)),
                    Err(_) => (1, UNKNOWN.to_string()),
                };
                let _ = writeln!(out, "{pc:8}:\t{}\t{text}", hex_bytes(&prog[pc..pc + n]));
                pc += n;
            }
        }
        Dialect::Kernel => {
            for (pc, insn) in decode_program(prog)? {
                let _ = writeln!(
                    out,
                    "{pc:4}: {}",
                    kernel_text(&insn, pc, &DefaultKernelNames)
                );
            }
        }
        Dialect::Conformance => out = conformance::listing(&decode_program(prog)?, prog.len()),
    }
    Ok(out)
}

/// Formats a signed number in decimal or, with `hex`, as `0x…`/`-0x…`
/// (LLVM 19's spelling of immediates).
pub(crate) fn num(v: i64, hex: bool) -> String {
    if !hex {
        v.to_string()
    } else if v < 0 {
        format!("-0x{:x}", v.unsigned_abs())
    } else {
        format!("0x{v:x}")
    }
}

/// A relative branch offset with its sign always shown (`+3`, `-0x2`).
pub(crate) fn rel(v: i64, hex: bool) -> String {
    if v < 0 {
        num(v, hex)
    } else {
        format!("+{}", num(v, hex))
    }
}

/// A symbol that labels a slot of a section, as `llvm-objdump` prints it
/// (`0000000000000000 <func>:`) and uses it to annotate branch targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Slot index in the section (byte address / 8).
    pub slot: usize,
    pub name: String,
}

/// The body of `llvm-objdump -d` for one section: a label line for each
/// symbol (preceded by an empty line, as the tool prints it), then one line
/// per instruction, with `<sym+0xoff>` after the branches the tool
/// annotates. `symbols` need not be sorted. Only the LLVM dialects make
/// sense here; others print their listing lines the same way.
pub fn objdump_section(prog: &[RawInsn], symbols: &[Symbol], opts: DisasmOptions) -> String {
    let syms = one_per_address(symbols);
    let mut out = String::new();
    let mut pc = 0;
    let mut next_sym = 0;
    while pc < prog.len() {
        // Labels for every symbol up to here (a symbol inside an lddw is
        // printed before it, as the tool does not split instructions).
        while next_sym < syms.len() && syms[next_sym].slot <= pc {
            let s = syms[next_sym];
            let _ = write!(out, "\n{:016x} <{}>:\n", s.slot * 8, s.name);
            next_sym += 1;
        }
        let (n, text, insn) = match Insn::decode(prog, pc) {
            Ok(insn) => (insn.slots(), insn_text(&insn, opts), Some(insn)),
            Err(_) => (1, UNKNOWN.to_string(), None),
        };
        let _ = write!(out, "{pc:8}:\t{}\t{text}", hex_bytes(&prog[pc..pc + n]));
        if let Some(insn) = insn.filter(|i| llvm_annotates(i, &text)) {
            if let Some(target) = insn.branch_target(pc) {
                if let Some(a) = annotation(&syms, target) {
                    let _ = write!(out, " {a}");
                }
            }
        }
        out.push('\n');
        pc += n;
    }
    out
}

/// The symbols `llvm-objdump` shows, sorted by address: of several at one
/// address only the greatest name (whatever their types and bindings, as
/// observed with llvm-objdump 14 and 19).
fn one_per_address(symbols: &[Symbol]) -> Vec<&Symbol> {
    let mut syms: Vec<&Symbol> = symbols.iter().collect();
    syms.sort_by(|a, b| (a.slot, &a.name).cmp(&(b.slot, &b.name)));
    let mut out: Vec<&Symbol> = Vec::with_capacity(syms.len());
    for s in syms {
        match out.last_mut() {
            Some(last) if last.slot == s.slot => *last = s,
            _ => out.push(s),
        }
    }
    out
}

/// `<sym>` or `<sym+0xoff>` for a branch target slot: the last symbol at or
/// before it.
fn annotation(syms: &[&Symbol], target: i64) -> Option<String> {
    let t = usize::try_from(target).ok()?;
    let s = syms.iter().rev().find(|s| s.slot <= t)?;
    let off = (t - s.slot) * 8;
    Some(if off == 0 {
        format!("<{}>", s.name)
    } else {
        format!("<{}+0x{off:x}>", s.name)
    })
}
