//! `prog dump xlated` as bpftool prints it: plain text (with `opcodes` and
//! `linum`), JSON (`-j`) and the DOT control-flow graph (`visual`).
//!
//! The input is an *xlated* instruction stream: what the kernel hands back
//! in `xlated_prog_insns` (or what our runtime keeps after its rewrites),
//! plus the program's function and line info already resolved to strings.
//! Everything here is a pure function of that input, so the CLI prints
//! through it and the golden tests (`tests/xlated_golden.rs`, captured from
//! bpftool 7.1 on Linux 6.18) check it without a kernel.
//!
//! Two facts about xlated streams shape the code:
//!
//! * They hold forms the decoder refuses in user input: a bpf-to-bpf call
//!   of a loaded program carries its relative offset in `off` and the
//!   subprogram index in `imm` (the kernel's `jit_subprogs` leaves it so),
//!   and helper calls carry the helper's address relative to
//!   `__bpf_call_base` in `imm`. So the text of each slot is built here from
//!   the raw fields where needed, and from [`kernel_text`] otherwise.
//! * bpftool names what instructions refer to through callbacks; the
//!   [`XlatedNames`] resolver reproduces its rules (map ids, kallsyms names
//!   of helpers, `bpf_prog_<tag>_<name>` of jited subprograms) and any other
//!   [`KernelNames`] can be passed instead.
//!
//! ```
//! use oxbpf_isa::xlated::{dump_plain, XlatedNames, XlatedOptions, XlatedProgram};
//! use oxbpf_isa::RawInsn;
//!
//! let insns = [
//!     RawInsn::new(0x85, 0, 0, 0, 5),   // call bpf_ktime_get_ns
//!     RawInsn::new(0x95, 0, 0, 0, 0),   // exit
//! ];
//! let names = XlatedNames::default();   // our runtime: helper ids, no kallsyms
//! let p = XlatedProgram { insns: &insns, funcs: &[], lines: &[], names: &names };
//! assert_eq!(
//!     dump_plain(&p, XlatedOptions::default()),
//!     "   0: (85) call bpf_ktime_get_ns#5\n   1: (95) exit\n"
//! );
//! ```
//!
//! Layout details follow bpftool 7.1 (`tools/bpf/bpftool/xlated_dumper.c`,
//! `cfg.c`, `btf_dumper.c` of Linux 6.1), the version the goldens come from.

use crate::disasm::{default_helper_name, kernel_text, KernelNames};
use crate::{Insn, LoadImm, RawInsn};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use uapi::opcode::{
    BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX,
    BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, CALL, LDDW,
};

/// One `struct bpf_line_info` with its strings resolved from BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// Instruction (slot) index in the xlated stream.
    pub insn_off: u32,
    /// Source file name (`file_name_off`).
    pub file: String,
    /// The source line's text (`line_off`), as stored (bpftool trims its
    /// leading white space when printing).
    pub src: String,
    pub line: u32,
    pub col: u32,
}

/// One `struct bpf_func_info`: a function starts at `insn_off`; `proto` is
/// its prototype as bpftool's `btf_dumper_type_only` prints it
/// (`int xdp_prog(struct xdp_md * ctx)`), empty when unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncProto {
    pub insn_off: u32,
    pub proto: String,
}

/// A program to dump: the xlated instructions, its function and line info
/// (each sorted by `insn_off`; either may be empty) and the names resolver.
#[derive(Clone, Copy)]
pub struct XlatedProgram<'a> {
    pub insns: &'a [RawInsn],
    pub funcs: &'a [FuncProto],
    pub lines: &'a [SourceLine],
    pub names: &'a dyn KernelNames,
}

/// The `opcodes` and `linum` keywords of `prog dump xlated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XlatedOptions {
    /// Print each instruction's bytes.
    pub opcodes: bool,
    /// Add file, line and column to source lines.
    pub linum: bool,
}

/// bpftool's names for an xlated program.
///
/// * `lddw` of a map (`src_reg` 1 or 2, `imm` = map id, as the kernel
///   returns them): `map[id:5]`, `map[id:5][0]+16`; any other `lddw`: the
///   raw 64-bit value.
/// * helper calls: the kernel's name when `imm` is a helper id (the form
///   our runtime keeps), else the symbol at `call_base + imm` from
///   [`XlatedNames::call_syms`], else that address in hex; kfuncs likewise.
/// * bpf-to-bpf calls: `+3` for interpreted programs; for jited ones
///   `+3#bpf_prog_<tag>_<name>`, the symbol of the callee.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XlatedNames {
    /// Symbols of call targets, by the call instruction's `imm`.
    pub call_syms: BTreeMap<i32, String>,
    /// `__bpf_call_base` (0 when unknown), for unnamed targets.
    pub call_base: u64,
    /// Whether the program is jited (bpftool names subprograms only then).
    pub jited: bool,
    /// Symbols of subprograms by the slot index where each starts.
    pub subprog_syms: BTreeMap<usize, String>,
}

impl XlatedNames {
    /// Names for a program whose functions run jited, as our runtime
    /// runs them: each function starting at slot `start` is called
    /// `bpf_prog_<tag>_<name>` ([`crate::tag::ksym_name`]), the tag hashed
    /// over its slice of `insns` (the xlated stream), which is what the
    /// kernel reports for leaf functions without map references.
    pub fn jited_functions(insns: &[RawInsn], funcs: &[(usize, &str)]) -> Self {
        let mut starts: Vec<(usize, &str)> = funcs
            .iter()
            .copied()
            .filter(|&(s, _)| s < insns.len())
            .collect();
        starts.sort_by_key(|&(s, _)| s);
        let mut names = XlatedNames {
            jited: true,
            ..Default::default()
        };
        for (i, &(start, name)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(insns.len(), |&(s, _)| s);
            let tag = crate::tag::prog_tag(&insns[start..end]);
            names
                .subprog_syms
                .insert(start, crate::tag::ksym_name(&tag, name));
        }
        names
    }

    fn call_sym(&self, imm: i32) -> String {
        match self.call_syms.get(&imm) {
            Some(s) => s.clone(),
            None => format!("{:#x}", self.call_base.wrapping_add(imm as i64 as u64)),
        }
    }
}

impl KernelNames for XlatedNames {
    fn helper(&self, id: i32) -> Option<String> {
        // disasm.c tries its own table first, then bpftool's callback.
        default_helper_name(id).or_else(|| Some(self.call_sym(id)))
    }
    fn kfunc(&self, btf_id: i32, _module: i16) -> Option<String> {
        Some(self.call_sym(btf_id))
    }
    fn local_call(&self, pc: usize, rel: i32) -> Option<String> {
        if !self.jited {
            return Some(format!("{rel:+}"));
        }
        let target = (pc as i64).checked_add(1 + rel as i64)?;
        match usize::try_from(target)
            .ok()
            .and_then(|t| self.subprog_syms.get(&t))
        {
            Some(sym) => Some(format!("{rel:+}#{sym}")),
            None => Some(format!("{rel:+}")),
        }
    }
    fn imm64(&self, _pc: usize, imm: &LoadImm) -> Option<String> {
        match *imm {
            LoadImm::MapFd(id) => Some(format!("map[id:{}]", id as u32)),
            LoadImm::MapValue { fd, off } => Some(format!("map[id:{}][0]+{off}", fd as u32)),
            LoadImm::MapIdxValue { idx, off } => Some(format!("map[idx:{}]+{off}", idx as u32)),
            LoadImm::Func { rel } => Some(format!("subprog[{rel:+}]")),
            _ => None,
        }
    }
}

/// Whether slot `pc` starts an `lddw` (and so the next slot is its tail).
fn is_lddw(insns: &[RawInsn], pc: usize) -> bool {
    insns.get(pc).is_some_and(|r| r.code == LDDW)
}

/// The `lddw` operand as the kernel's `src_reg` says, without the
/// decoder's checks (xlated streams put addresses in both halves).
fn lenient_imm64(insns: &[RawInsn], pc: usize) -> LoadImm {
    let lo = insns[pc];
    let hi = insns.get(pc + 1).map_or(0, |h| h.imm);
    let full = (lo.imm as u32 as u64) | ((hi as u32 as u64) << 32);
    match lo.src {
        BPF_PSEUDO_MAP_FD => LoadImm::MapFd(lo.imm),
        BPF_PSEUDO_MAP_VALUE => LoadImm::MapValue {
            fd: lo.imm,
            off: hi as u32,
        },
        BPF_PSEUDO_BTF_ID => LoadImm::BtfId {
            id: lo.imm,
            module: hi,
        },
        // Loaded programs keep the subprogram index in the second half.
        BPF_PSEUDO_FUNC => LoadImm::Func { rel: lo.imm },
        BPF_PSEUDO_MAP_IDX if hi == 0 => LoadImm::MapIdx(lo.imm),
        BPF_PSEUDO_MAP_IDX_VALUE => LoadImm::MapIdxValue {
            idx: lo.imm,
            off: hi as u32,
        },
        _ => LoadImm::Imm(full),
    }
}

/// The kernel's text of xlated slot `pc`, `(85) call pc+3#…` style, without
/// the `pc: ` prefix. Slots the decoder refuses that are not one of the
/// kernel's own forms print as the kernel prints unknown opcodes.
pub fn xlated_insn_text(insns: &[RawInsn], pc: usize, names: &dyn KernelNames) -> String {
    let Some(&raw) = insns.get(pc) else {
        return String::new();
    };
    if raw.code == CALL && raw.src == BPF_PSEUDO_CALL {
        // Loaded programs keep the relative offset in `off`.
        let rel = if raw.off != 0 {
            raw.off as i32
        } else {
            raw.imm
        };
        let t = names
            .local_call(pc, rel)
            .unwrap_or_else(|| format!("{rel:+}"));
        return format!("({:02x}) call pc{t}", raw.code);
    }
    if raw.code == LDDW {
        let imm = lenient_imm64(insns, pc);
        let text = names.imm64(pc, &imm).unwrap_or_else(|| {
            let hi = insns.get(pc + 1).map_or(0, |h| h.imm);
            format!(
                "{:#x}",
                (raw.imm as u32 as u64) | ((hi as u32 as u64) << 32)
            )
        });
        return format!("({:02x}) r{} = {text}", raw.code, raw.dst);
    }
    match Insn::decode(insns, pc) {
        Ok(insn) => kernel_text(&insn, pc, names),
        Err(_) => internal_text(raw)
            .or_else(|| aux_text(raw, pc, names))
            .unwrap_or_else(|| format!("({:02x}) BUG_{:02x}", raw.code, raw.code)),
    }
}

/// The verifier's scratch register `BPF_REG_AX` (r11), which rewrites
/// use (division checks, constant blinding, sanitisation) and users may not.
const REG_AX: u8 = 11;

/// Instructions that use r11, or a register-source ALU operation with a
/// non-zero `imm` (the verifier's zero-extension `mov32 w0, w0`, `imm` 1):
/// decoded with a stand-in register and printed as the kernel prints them.
fn aux_text(raw: RawInsn, pc: usize, names: &dyn KernelNames) -> Option<String> {
    let mut s = raw;
    let class = raw.code & 0x07;
    let alu = class == 0x04 || class == 0x07;
    if alu && raw.code & 0x08 != 0 && raw.off == 0 {
        s.imm = 0;
    }
    // A stand-in no other field of the instruction names; r2..r9 print as
    // two characters that no other register's name contains.
    let stand_in = (2..=9u8).find(|&r| r != raw.dst && r != raw.src)?;
    let uses_ax = raw.dst == REG_AX || raw.src == REG_AX;
    if s.dst == REG_AX {
        s.dst = stand_in;
    }
    if s.src == REG_AX {
        s.src = stand_in;
    }
    let insn = Insn::decode(&[s], 0).ok()?;
    let text = kernel_text(&insn, pc, names);
    if !uses_ax {
        return Some(text);
    }
    Some(
        text.replace(&format!("r{stand_in}"), "r11")
            .replace(&format!("w{stand_in}"), "w11"),
    )
}

/// Kernel-internal instructions the decoder does not accept from users,
/// as Linux 6.18's `disasm.c` prints them.
fn internal_text(raw: RawInsn) -> Option<String> {
    const ALU64_MOV_X: u8 = 0xbf;
    Some(match raw.code {
        // BPF_MOV64_PERCPU_REG (`off` = BPF_ADDR_PERCPU).
        ALU64_MOV_X if raw.off == -1 => format!(
            "({:02x}) r{} = &(void __percpu *)(r{})",
            raw.code, raw.dst, raw.src
        ),
        ALU64_MOV_X if raw.off == 1 => format!(
            "({:02x}) r{} = addr_space_cast(r{}, {}, {})",
            raw.code,
            raw.dst,
            raw.src,
            (raw.imm as u32) >> 16,
            raw.imm as u16
        ),
        // BPF_JMP | BPF_JCOND with src BPF_MAY_GOTO.
        0xe5 => format!("({:02x}) may_goto pc{:+}", raw.code, raw.off),
        _ => return None,
    })
}

/// The slots that start an instruction: every slot except `lddw` tails.
fn insn_starts(insns: &[RawInsn]) -> Vec<usize> {
    let mut out = Vec::with_capacity(insns.len());
    let mut pc = 0;
    while pc < insns.len() {
        out.push(pc);
        pc += if is_lddw(insns, pc) { 2 } else { 1 };
    }
    out
}

/// Function and line info by instruction, the first record per slot (the
/// kernel keeps `insn_off`s strictly increasing, so there is one).
struct Annotations<'a> {
    funcs: BTreeMap<usize, &'a FuncProto>,
    lines: BTreeMap<usize, &'a SourceLine>,
}

impl<'a> Annotations<'a> {
    fn new(p: &XlatedProgram<'a>) -> Self {
        let mut funcs = BTreeMap::new();
        for f in p.funcs.iter().filter(|f| !f.proto.is_empty()) {
            funcs.entry(f.insn_off as usize).or_insert(f);
        }
        let mut lines = BTreeMap::new();
        for l in p.lines {
            lines.entry(l.insn_off as usize).or_insert(l);
        }
        Annotations { funcs, lines }
    }
    fn func(&self, pc: usize) -> Option<&'a FuncProto> {
        self.funcs.get(&pc).copied()
    }
    fn line(&self, pc: usize) -> Option<&'a SourceLine> {
        self.lines.get(&pc).copied()
    }
}

/// C's `isspace` trim, as bpftool's `ltrim`.
fn ltrim(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
}

/// bpftool's `fprint_hex` of one or two slots: bytes as `%02x` separated
/// by single spaces, the two slots of an `lddw` joined by a space.
fn slot_bytes(insns: &[RawInsn], pc: usize) -> String {
    let n = if is_lddw(insns, pc) && pc + 1 < insns.len() {
        2
    } else {
        1
    };
    crate::disasm::hex_bytes(&insns[pc..pc + n])
}

/// `bpftool prog dump xlated [opcodes] [linum]`: for each instruction the
/// function prototype where a function starts (`int f(int a):`), the source
/// line where line info starts (`; a = b + 1;`, with
/// ` [file:F line_num:N line_col:C]` under `linum`), `% 4d: (op) text`, and
/// under `opcodes` its bytes on the next line.
pub fn dump_plain(p: &XlatedProgram<'_>, opts: XlatedOptions) -> String {
    let mut out = String::new();
    let notes = Annotations::new(p);
    for pc in insn_starts(p.insns) {
        if let Some(f) = notes.func(pc) {
            let _ = writeln!(out, "{}:", f.proto);
        }
        if let Some(l) = notes.line(pc) {
            out.push_str("; ");
            out.push_str(ltrim(&l.src));
            if opts.linum {
                let _ = write!(
                    out,
                    " [file:{} line_num:{} line_col:{}]",
                    l.file, l.line, l.col
                );
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{pc:4}: {}", xlated_insn_text(p.insns, pc, p.names));
        if opts.opcodes {
            let _ = writeln!(out, "       {}", slot_bytes(p.insns, pc));
        }
    }
    out
}

mod json;
pub use json::{dump_json, dump_json_pretty, dump_json_string};

mod cfg;
pub use cfg::dump_visual;

#[cfg(test)]
mod tests;
