//! The bpf_conformance suite's syntax, with its rules: operands separated
//! by whitespace (a trailing `,` dropped), `%rN` registers, `[%rN+off]`
//! memory, hexadecimal immediates read as unsigned 32-bit patterns and
//! decimal ones as signed, jump targets `+N`/`-N` or labels.
//!
//! Beyond the suite it reads what our disassembler prints for encodings the
//! suite cannot spell: `callx %rN` / `callx N`, `ldabsw 12`,
//! `ldindw %r1, 12`, `ld_pseudo %r1, 1, 0x4[, 0x10]` and
//! `call runtime ID, MODULE`.

use super::{AsmError, AsmErrorKind, Builder, Loc};
use crate::disasm::conformance::{alu_name, jmp_name};
use crate::insn::*;
use crate::raw::RawInsn;

/// A whitespace-separated word and where it starts.
#[derive(Clone, Copy)]
struct Tok<'a> {
    s: &'a str,
    loc: Loc,
}

fn tokens(line: &str, line_no: usize) -> Vec<Tok<'_>> {
    let code = line.find('#').map_or(line, |i| &line[..i]);
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in code
        .char_indices()
        .chain(std::iter::once((code.len(), ' ')))
    {
        match (ch.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                let word = &code[s..i];
                out.push(Tok {
                    s: word.strip_suffix(',').unwrap_or(word),
                    loc: Loc {
                        line: line_no,
                        column: code[..s].chars().count() + 1,
                    },
                });
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Parses one line into `b`.
pub(crate) fn line(b: &mut Builder, text: &str, line_no: usize) -> Result<(), AsmError> {
    let mut toks = tokens(text, line_no);
    while let Some(label) = toks.first().and_then(|t| t.s.strip_suffix(':')) {
        b.label(label, toks[0].loc)?;
        toks.remove(0);
    }
    let Some((&m, ops)) = toks.split_first() else {
        return Ok(());
    };
    instruction(b, m, ops)
}

fn reg(t: Tok) -> Result<Reg, AsmError> {
    t.s.strip_prefix("%r")
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty())
        .and_then(|n| n.parse::<u8>().ok())
        .and_then(Reg::new)
        .ok_or_else(|| t.loc.err_at(AsmErrorKind::InvalidRegister, t.s))
}

fn bad_number(t: Tok, s: &str) -> AsmError {
    t.loc.err(AsmErrorKind::Expected {
        expected: "a number".into(),
        found: format!("`{s}`"),
    })
}

/// Parses `s` as the suite does: hexadecimal (anything with `0x`) unsigned,
/// otherwise signed decimal. `None` if it is not a number at all.
fn parse_num(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => body.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn imm32(t: Tok) -> Result<i32, AsmError> {
    let v = parse_num(t.s).ok_or_else(|| bad_number(t, t.s))?;
    let ok = if t.s.contains("0x") {
        (0..=u32::MAX as i128).contains(&v)
    } else {
        (i32::MIN as i128..=i32::MAX as i128).contains(&v)
    };
    if !ok {
        return Err(t.loc.err(AsmErrorKind::ImmediateRange(t.s.to_string())));
    }
    Ok(v as u32 as i32)
}

/// An offset: hexadecimal up to 0xffff (as a 16-bit pattern), decimal as
/// signed 16-bit. `text` is what the suite quotes in its message.
fn offset(t: Tok, text: &str) -> Result<i16, AsmError> {
    let num = text.strip_suffix(']').unwrap_or(text);
    let v = parse_num(num).ok_or_else(|| bad_number(t, text))?;
    let ok = if num.contains("0x") {
        (-0xffff..=0xffff).contains(&v)
    } else {
        (i16::MIN as i128..=i16::MAX as i128).contains(&v)
    };
    if !ok {
        return Err(t.loc.err(AsmErrorKind::OffsetRange(text.to_string())));
    }
    Ok(v as u16 as i16)
}

/// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
fn memory(t: Tok) -> Result<(Reg, i16), AsmError> {
    let fail = || t.loc.err(AsmErrorKind::MemoryOperand(t.s.to_string()));
    let inner = t.s.strip_prefix('[').ok_or_else(fail)?;
    let split = inner
        .find(['+', '-'])
        .or_else(|| inner.find(']'))
        .ok_or_else(fail)?;
    let r = reg(Tok {
        s: &inner[..split],
        loc: t.loc,
    })?;
    let rest = &inner[split..];
    if rest.starts_with(']') {
        return Ok((r, 0));
    }
    if !rest.ends_with(']') {
        return Err(fail());
    }
    Ok((r, offset(t, rest)?))
}

fn count(m: Tok, ops: &[Tok], n: usize) -> Result<(), AsmError> {
    if ops.len() != n {
        return Err(m.loc.err(AsmErrorKind::OperandCount(m.s.to_string())));
    }
    Ok(())
}

/// `+N`/`-N` (as the suite reads offsets) or a label.
fn branch(b: &mut Builder, t: Tok, make: impl Fn(i64) -> Insn, long: bool) -> Result<(), AsmError> {
    if t.s.starts_with(['+', '-']) {
        let v = if long {
            i64::from(imm32(t)?)
        } else {
            i64::from(offset(t, t.s)?)
        };
        b.push(make(v));
    } else {
        b.push_ref(make(0), t.s, t.loc, false);
    }
    Ok(())
}

fn instruction(b: &mut Builder, m: Tok, ops: &[Tok]) -> Result<(), AsmError> {
    let name = m.s;
    if name == "lock" {
        return lock(b, m, ops);
    }
    if let Some(insn) = alu(m, ops)? {
        b.push(insn);
        return Ok(());
    }
    if let Some(()) = jump(b, m, ops)? {
        return Ok(());
    }
    if let Some(insn) = memory_insn(m, ops)? {
        b.push(insn);
        return Ok(());
    }
    match name {
        "exit" => {
            count(m, ops, 0)?;
            b.push(Insn::Exit);
        }
        "lddw" => {
            count(m, ops, 2)?;
            let dst = reg(ops[0])?;
            let t = ops[1];
            let v = parse_num(t.s).ok_or_else(|| bad_number(t, t.s))?;
            if v < i64::MIN as i128 || v > u64::MAX as i128 {
                return Err(t.loc.err(AsmErrorKind::Invalid(format!(
                    "Immediate out of 64-bit range: {}",
                    t.s
                ))));
            }
            b.push(Insn::LoadImm64 {
                dst,
                imm: LoadImm::Imm(v as u64),
            });
        }
        "ld_pseudo" => {
            if !(3..=4).contains(&ops.len()) {
                return Err(m.loc.err(AsmErrorKind::OperandCount(name.to_string())));
            }
            let dst = reg(ops[0])?;
            let src = imm32(ops[1])?;
            let lo = imm32(ops[2])?;
            let hi = ops.get(3).map(|&t| imm32(t)).transpose()?.unwrap_or(0);
            let slots = [
                RawInsn::new(0x18, dst.n(), src.clamp(0, 15) as u8, 0, lo),
                RawInsn::new(0, 0, 0, 0, hi),
            ];
            let insn = Insn::decode(&slots, 0)
                .ok()
                .filter(|_| (1..=6).contains(&src))
                .ok_or_else(|| {
                    ops[1]
                        .loc
                        .err(AsmErrorKind::Invalid("pseudo source must be 1 to 6".into()))
                })?;
            b.push(insn);
        }
        "call" => call(b, m, ops)?,
        "callx" => {
            count(m, ops, 1)?;
            b.push(callx(ops[0])?);
        }
        _ => return Err(m.loc.err(AsmErrorKind::InvalidMnemonic(name.to_string()))),
    }
    Ok(())
}

fn callx(t: Tok) -> Result<Insn, AsmError> {
    if t.s.starts_with('%') {
        return Ok(Insn::CallX {
            reg: reg(t)?,
            encoding: CallxEncoding::Dst,
        });
    }
    let n = imm32(t)?;
    let reg = u8::try_from(n)
        .ok()
        .and_then(Reg::new)
        .ok_or_else(|| t.loc.err_at(AsmErrorKind::InvalidRegister, t.s))?;
    Ok(Insn::CallX {
        reg,
        encoding: CallxEncoding::Imm,
    })
}

fn call(b: &mut Builder, m: Tok, ops: &[Tok]) -> Result<(), AsmError> {
    let (mode, rest) = match ops {
        [t] => ("helper", std::slice::from_ref(t)),
        [mode, rest @ ..] if !rest.is_empty() => (mode.s, rest),
        _ => return Err(m.loc.err(AsmErrorKind::OperandCount("call".into()))),
    };
    let target = rest[0];
    match (mode, rest.len()) {
        ("helper", 1) if target.s.starts_with('%') => b.push(callx(target)?),
        ("helper", 1) => b.push(Insn::Call(CallTarget::Helper(imm32(target)?))),
        ("local", 1) => branch(
            b,
            target,
            |o| Insn::Call(CallTarget::Local { rel: o as i32 }),
            true,
        )?,
        ("runtime", 1 | 2) => {
            let module = match rest.get(1) {
                Some(&t) => offset(t, t.s)?,
                None => 0,
            };
            b.push(Insn::Call(CallTarget::Kfunc {
                btf_id: imm32(target)?,
                module,
            }));
        }
        ("helper" | "local" | "runtime", _) => {
            return Err(m.loc.err(AsmErrorKind::OperandCount("call".into())))
        }
        _ => return Err(ops[0].loc.err(AsmErrorKind::InvalidCallMode)),
    }
    Ok(())
}

/// `lock [fetch] OP[32] [%rD+off], %rS`.
fn lock(b: &mut Builder, m: Tok, ops: &[Tok]) -> Result<(), AsmError> {
    let bad = || m.loc.err(AsmErrorKind::LockOperandCount);
    let (fetch, ops) = match ops.split_first() {
        Some((f, rest)) if f.s == "fetch" => (true, rest),
        Some(_) => (false, ops),
        None => return Err(bad()),
    };
    let [op, mem, src] = ops else {
        return Err(bad());
    };
    let (base, size) = match op.s.strip_suffix("32") {
        Some(base) => (base, Size::W),
        None => (op.s, Size::DW),
    };
    let op_kind = match (base, fetch) {
        ("add", f) => AtomicOp::Add { fetch: f },
        ("or", f) => AtomicOp::Or { fetch: f },
        ("and", f) => AtomicOp::And { fetch: f },
        ("xor", f) => AtomicOp::Xor { fetch: f },
        ("xchg", _) => AtomicOp::Xchg,
        ("cmpxchg", _) => AtomicOp::Cmpxchg,
        _ => return Err(op.loc.err(AsmErrorKind::InvalidMnemonic(op.s.to_string()))),
    };
    let (dst, off) = memory(*mem)?;
    b.push(Insn::Atomic {
        size,
        op: op_kind,
        dst,
        src: reg(*src)?,
        off,
    });
    Ok(())
}

/// The width suffix of an ALU or jump mnemonic.
fn split_width(name: &str) -> (&str, Width) {
    match name.strip_suffix("32") {
        Some(base) => (base, Width::W32),
        None => (name, Width::W64),
    }
}

fn alu(m: Tok, ops: &[Tok]) -> Result<Option<Insn>, AsmError> {
    let name = m.s;
    for (prefix, order) in [
        ("be", ByteOrder::ToBe),
        ("le", ByteOrder::ToLe),
        ("swap", ByteOrder::Swap),
        ("bswap", ByteOrder::Swap),
    ] {
        if let Some(bits @ ("16" | "32" | "64")) = name.strip_prefix(prefix) {
            count(m, ops, 1)?;
            return Ok(Some(Insn::Endian {
                order,
                dst: reg(ops[0])?,
                bits: bits.parse().unwrap_or(64),
            }));
        }
    }
    let movsx = match name {
        "movsx864" => Some((Width::W64, 8)),
        "movsx1664" => Some((Width::W64, 16)),
        "movsx3264" => Some((Width::W64, 32)),
        "movsx832" => Some((Width::W32, 8)),
        "movsx1632" => Some((Width::W32, 16)),
        _ => None,
    };
    if let Some((width, bits)) = movsx {
        count(m, ops, 2)?;
        return Ok(Some(Insn::MovSx {
            width,
            dst: reg(ops[0])?,
            src: reg(ops[1])?,
            bits,
        }));
    }
    let (base, width) = split_width(name);
    if base == "neg" {
        count(m, ops, 1)?;
        return Ok(Some(Insn::Neg {
            width,
            dst: reg(ops[0])?,
        }));
    }
    let Some(op) = AluOp::ALL.into_iter().find(|&op| alu_name(op) == base) else {
        return Ok(None);
    };
    count(m, ops, 2)?;
    let dst = reg(ops[0])?;
    let src = if ops[1].s.starts_with('%') {
        Operand::Reg(reg(ops[1])?)
    } else {
        Operand::Imm(imm32(ops[1])?)
    };
    Ok(Some(Insn::Alu {
        width,
        op,
        dst,
        src,
    }))
}

fn jump(b: &mut Builder, m: Tok, ops: &[Tok]) -> Result<Option<()>, AsmError> {
    match m.s {
        "ja" | "ja32" => {
            count(m, ops, 1)?;
            let long = m.s == "ja32";
            branch(
                b,
                ops[0],
                |o| Insn::Ja {
                    off: o as i32,
                    long,
                },
                long,
            )?;
            return Ok(Some(()));
        }
        _ => {}
    }
    let (base, width) = split_width(m.s);
    let Some(cond) = JmpCond::ALL.into_iter().find(|&c| jmp_name(c) == base) else {
        return Ok(None);
    };
    count(m, ops, 3)?;
    let dst = reg(ops[0])?;
    let src = if ops[1].s.starts_with('%') {
        Operand::Reg(reg(ops[1])?)
    } else {
        Operand::Imm(imm32(ops[1])?)
    };
    let make = |o: i64| Insn::Jump {
        width,
        cond,
        dst,
        src,
        off: o as i16,
    };
    branch(b, ops[2], make, false)?;
    Ok(Some(()))
}

fn size_of_suffix(s: &str) -> Option<Size> {
    match s {
        "b" => Some(Size::B),
        "h" => Some(Size::H),
        "w" => Some(Size::W),
        "dw" => Some(Size::DW),
        _ => None,
    }
}

/// Loads and stores: `ldx[s]SZ`, `stSZ`, `stxSZ`, `ldabsSZ`, `ldindSZ`.
fn memory_insn(m: Tok, ops: &[Tok]) -> Result<Option<Insn>, AsmError> {
    let name = m.s;
    if let Some(size) = name.strip_prefix("ldx").and_then(|s| {
        size_of_suffix(s).map(|z| (z, false)).or_else(|| {
            s.strip_prefix('s')
                .and_then(size_of_suffix)
                .filter(|&z| z != Size::DW)
                .map(|z| (z, true))
        })
    }) {
        count(m, ops, 2)?;
        let dst = reg(ops[0])?;
        let (src, off) = memory(ops[1])?;
        return Ok(Some(Insn::Load {
            size: size.0,
            signed: size.1,
            dst,
            src,
            off,
        }));
    }
    if let Some(size) = name.strip_prefix("stx").and_then(size_of_suffix) {
        count(m, ops, 2)?;
        let (dst, off) = memory(ops[0])?;
        return Ok(Some(Insn::Store {
            size,
            dst,
            off,
            src: Operand::Reg(reg(ops[1])?),
        }));
    }
    if let Some(size) = name.strip_prefix("st").and_then(size_of_suffix) {
        count(m, ops, 2)?;
        let (dst, off) = memory(ops[0])?;
        return Ok(Some(Insn::Store {
            size,
            dst,
            off,
            src: Operand::Imm(imm32(ops[1])?),
        }));
    }
    if let Some(size) = name
        .strip_prefix("ldabs")
        .and_then(size_of_suffix)
        .filter(|&z| z != Size::DW)
    {
        count(m, ops, 1)?;
        return Ok(Some(Insn::LoadPacket {
            mode: PacketMode::Abs,
            size,
            imm: imm32(ops[0])?,
        }));
    }
    if let Some(size) = name
        .strip_prefix("ldind")
        .and_then(size_of_suffix)
        .filter(|&z| z != Size::DW)
    {
        count(m, ops, 2)?;
        return Ok(Some(Insn::LoadPacket {
            mode: PacketMode::Ind(reg(ops[0])?),
            size,
            imm: imm32(ops[1])?,
        }));
    }
    Ok(None)
}
