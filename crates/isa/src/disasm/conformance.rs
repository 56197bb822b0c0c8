//! The bpf_conformance suite's assembler syntax: `mnemonic operands`, with
//! `%rN` registers, `[%rN+off]` memory operands and a `32` suffix for the
//! 32-bit ALU and jump classes (`mov32 %r0, 0`, `ldxw %r0, [%r1+4]`,
//! `jeq %r1, 0, +2`, `lock fetch add [%r1+8], %r2`).
//!
//! The text is chosen so that the suite's own assembler reads it back to the
//! same bytes wherever the suite has a spelling; immediates are printed as
//! the suite's disassembler prints them (small and negative values in
//! decimal, others as `0x` of the 32-bit pattern, which the suite's
//! assembler reads back unsigned). A few encodings the suite has no syntax
//! for get spellings only our assembler reads: `ldabsw 12` / `ldindw %r1, 12`
//! (uBPF's), `ld_pseudo %r1, 1, 4` for pseudo `lddw`, `callx 2` for the
//! legacy `callx` encoding and `call runtime ID, MODULE` for a kfunc from a
//! module.

use super::kernel::imm64_raw;
use super::llvm::pseudo_src;
use crate::insn::*;

fn reg(r: Reg) -> String {
    format!("%r{}", r.n())
}

/// An immediate as the suite's disassembler prints it.
fn imm(i: i32) -> String {
    if (-10..=10).contains(&i) || (i < 0 && i != i32::MIN) {
        i.to_string()
    } else {
        format!("0x{:x}", i as u32)
    }
}

fn mem(r: Reg, off: i16) -> String {
    match off {
        0 => format!("[{}]", reg(r)),
        o if o > 0 => format!("[{}+{o}]", reg(r)),
        o => format!("[{}{o}]", reg(r)),
    }
}

fn jump_off(off: i64) -> String {
    if off >= 0 {
        format!("+{off}")
    } else {
        off.to_string()
    }
}

fn suffix(width: Width) -> &'static str {
    match width {
        Width::W32 => "32",
        Width::W64 => "",
    }
}

fn size_suffix(size: Size) -> &'static str {
    match size {
        Size::B => "b",
        Size::H => "h",
        Size::W => "w",
        Size::DW => "dw",
    }
}

/// The mnemonic of an ALU operation, without the width suffix.
pub(crate) fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::SDiv => "sdiv",
        AluOp::Or => "or",
        AluOp::And => "and",
        AluOp::Lsh => "lsh",
        AluOp::Rsh => "rsh",
        AluOp::Mod => "mod",
        AluOp::SMod => "smod",
        AluOp::Xor => "xor",
        AluOp::Mov => "mov",
        AluOp::Arsh => "arsh",
    }
}

/// The mnemonic of a jump condition, without the width suffix.
pub(crate) fn jmp_name(c: JmpCond) -> &'static str {
    match c {
        JmpCond::Eq => "jeq",
        JmpCond::Gt => "jgt",
        JmpCond::Ge => "jge",
        JmpCond::Set => "jset",
        JmpCond::Ne => "jne",
        JmpCond::Sgt => "jsgt",
        JmpCond::Sge => "jsge",
        JmpCond::Lt => "jlt",
        JmpCond::Le => "jle",
        JmpCond::Slt => "jslt",
        JmpCond::Sle => "jsle",
    }
}

/// The text of one instruction.
pub(crate) fn text(insn: &Insn) -> String {
    text_to(insn, None)
}

/// The text of one instruction whose branch target, if any, is printed as
/// `label` instead of a numeric offset.
pub(crate) fn text_to(insn: &Insn, label: Option<&str>) -> String {
    let target = |off: i64| label.map_or_else(|| jump_off(off), str::to_string);
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let s = match src {
                Operand::Reg(r) => reg(r),
                Operand::Imm(i) => imm(i),
            };
            format!("{}{} {}, {s}", alu_name(op), suffix(width), reg(dst))
        }
        Insn::Neg { width, dst } => format!("neg{} {}", suffix(width), reg(dst)),
        Insn::MovSx {
            width,
            dst,
            src,
            bits,
        } => {
            let to = match width {
                Width::W32 => "32",
                Width::W64 => "64",
            };
            format!("movsx{bits}{to} {}, {}", reg(dst), reg(src))
        }
        Insn::Endian { order, dst, bits } => {
            let name = match order {
                ByteOrder::ToLe => "le",
                ByteOrder::ToBe => "be",
                ByteOrder::Swap => "bswap",
            };
            format!("{name}{bits} {}", reg(dst))
        }
        Insn::LoadImm64 {
            dst,
            imm: LoadImm::Imm(v),
        } => format!("lddw {}, 0x{v:x}", reg(dst)),
        Insn::LoadImm64 { dst, imm: ref li } => {
            let raw = imm64_raw(li);
            let (lo, hi) = (raw as u32, (raw >> 32) as u32);
            let mut s = format!("ld_pseudo {}, {}, 0x{lo:x}", reg(dst), pseudo_src(li));
            if hi != 0 {
                s.push_str(&format!(", 0x{hi:x}"));
            }
            s
        }
        Insn::LoadPacket { mode, size, imm: i } => match mode {
            PacketMode::Abs => format!("ldabs{} {}", size_suffix(size), imm(i)),
            PacketMode::Ind(r) => format!("ldind{} {}, {}", size_suffix(size), reg(r), imm(i)),
        },
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let s = if signed { "s" } else { "" };
            format!(
                "ldx{s}{} {}, {}",
                size_suffix(size),
                reg(dst),
                mem(src, off)
            )
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => match src {
            Operand::Reg(r) => format!("stx{} {}, {}", size_suffix(size), mem(dst, off), reg(r)),
            Operand::Imm(i) => format!("st{} {}, {}", size_suffix(size), mem(dst, off), imm(i)),
        },
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => {
            let w = if size == Size::W { "32" } else { "" };
            let (fetch, name) = match op {
                AtomicOp::Add { fetch } => (fetch, "add"),
                AtomicOp::Or { fetch } => (fetch, "or"),
                AtomicOp::And { fetch } => (fetch, "and"),
                AtomicOp::Xor { fetch } => (fetch, "xor"),
                AtomicOp::Xchg => (false, "xchg"),
                AtomicOp::Cmpxchg => (false, "cmpxchg"),
            };
            let f = if fetch { "fetch " } else { "" };
            format!("lock {f}{name}{w} {}, {}", mem(dst, off), reg(src))
        }
        Insn::Ja { off, long: false } => format!("ja {}", target(off.into())),
        Insn::Ja { off, long: true } => format!("ja32 {}", target(off.into())),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let s = match src {
                Operand::Reg(r) => reg(r),
                Operand::Imm(i) => imm(i),
            };
            format!(
                "{}{} {}, {s}, {}",
                jmp_name(cond),
                suffix(width),
                reg(dst),
                target(off.into())
            )
        }
        Insn::Call(CallTarget::Helper(id)) => format!("call {}", imm(id)),
        Insn::Call(CallTarget::Local { rel }) => format!("call local {}", target(rel.into())),
        Insn::Call(CallTarget::Kfunc { btf_id, module: 0 }) => {
            format!("call runtime {}", imm(btf_id))
        }
        Insn::Call(CallTarget::Kfunc { btf_id, module }) => {
            format!("call runtime {}, {module}", imm(btf_id))
        }
        Insn::CallX {
            reg: r,
            encoding: CallxEncoding::Dst,
        } => format!("callx {}", reg(r)),
        Insn::CallX {
            reg: r,
            encoding: CallxEncoding::Imm,
        } => format!("callx {}", r.n()),
        Insn::Exit => "exit".to_string(),
    }
}

/// A whole program, with a label `L<slot>:` before every branch and call
/// target inside it (or just past its end) and the branches naming them;
/// targets outside keep numeric offsets.
pub(crate) fn listing(insns: &[(usize, Insn)], slots: usize) -> String {
    use std::collections::BTreeSet;
    use std::fmt::Write as _;
    let label_of = |pc: usize, insn: &Insn| -> Option<usize> {
        if matches!(insn, Insn::LoadImm64 { .. }) {
            return None;
        }
        let t = usize::try_from(insn.branch_target(pc)?).ok()?;
        // Only slots where an instruction starts (or the end) can carry a label.
        (t == slots || insns.iter().any(|&(p, _)| p == t)).then_some(t)
    };
    let targets: BTreeSet<usize> = insns
        .iter()
        .filter_map(|(pc, i)| label_of(*pc, i))
        .collect();
    let mut out = String::new();
    for &(pc, ref insn) in insns {
        if targets.contains(&pc) {
            let _ = writeln!(out, "L{pc}:");
        }
        let label = label_of(pc, insn).map(|t| format!("L{t}"));
        let _ = writeln!(out, "{}", text_to(insn, label.as_deref()));
    }
    if targets.contains(&slots) {
        let _ = writeln!(out, "L{slots}:");
    }
    out
}
