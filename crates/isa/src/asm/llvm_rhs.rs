//! The right-hand sides of `rD = ...` in the llvm/kernel syntax: moves,
//! `lddw`, negation, sign-extending moves, byte swaps, loads, packet loads
//! and the fetching atomics.

use super::cursor::Cursor;
use super::{AsmError, AsmErrorKind};
use crate::insn::*;

fn invalid(c: &mut Cursor, msg: &str) -> AsmError {
    c.loc().err(AsmErrorKind::Invalid(msg.to_string()))
}

/// Parses what follows `rD =` (`wD =` when `width` is 32-bit).
pub(crate) fn rhs(c: &mut Cursor, width: Width, dst: Reg) -> Result<Insn, AsmError> {
    let loc = c.loc();
    // `-rD`: negation (a `-` before a number is a negative immediate).
    let save = c.save();
    if c.eat("-") {
        if c.at_reg() {
            let (w, r) = c.reg()?;
            if w != width || r != dst {
                return Err(loc.err(AsmErrorKind::Invalid(
                    "negation must name its destination: `r1 = -r1`".into(),
                )));
            }
            return Ok(Insn::Neg { width, dst });
        }
        c.restore(save);
    }
    if c.peek() == Some('(') {
        return movsx(c, width, dst);
    }
    if c.peek() == Some('*') {
        c.expect("*")?;
        return load(c, dst);
    }
    if let Some(insn) = word_rhs(c, width, dst)? {
        return Ok(insn);
    }
    if c.at_reg() {
        let (w, src) = c.reg()?;
        if w != width {
            return Err(loc.err(AsmErrorKind::Invalid(
                "both registers of a move must be r or both w".into(),
            )));
        }
        return Ok(Insn::Alu {
            width,
            op: AluOp::Mov,
            dst,
            src: Operand::Reg(src),
        });
    }
    // A constant: `ll` makes it a 64-bit `lddw`.
    let nloc = c.loc();
    let (v, t) = c
        .number()
        .ok_or_else(|| c.expected("a register, a number or a load"))?;
    if c.eat_word("ll") {
        if width != Width::W64 {
            return Err(nloc.err(AsmErrorKind::Invalid("`ll` needs an r register".into())));
        }
        if v < i64::MIN as i128 || v > u64::MAX as i128 {
            return Err(nloc.err(AsmErrorKind::Invalid(format!(
                "Immediate out of 64-bit range: {t}"
            ))));
        }
        return Ok(Insn::LoadImm64 {
            dst,
            imm: LoadImm::Imm(v as u64),
        });
    }
    if v < i32::MIN as i128 || v > u32::MAX as i128 {
        return Err(nloc.err(AsmErrorKind::ImmediateRange(t)));
    }
    Ok(Insn::Alu {
        width,
        op: AluOp::Mov,
        dst,
        src: Operand::Imm(v as u32 as i32),
    })
}

/// `(s8)rS`: a sign-extending move.
fn movsx(c: &mut Cursor, width: Width, dst: Reg) -> Result<Insn, AsmError> {
    c.expect("(")?;
    let loc = c.loc();
    let bits = match c.ident() {
        Some("s8") => 8,
        Some("s16") => 16,
        Some("s32") if width == Width::W64 => 32,
        _ => {
            return Err(loc.err(AsmErrorKind::Expected {
                expected: "`s8`, `s16` or (64-bit only) `s32`".into(),
                found: "something else".into(),
            }))
        }
    };
    c.expect(")")?;
    let (_, src) = c.reg()?;
    Ok(Insn::MovSx {
        width,
        dst,
        src,
        bits,
    })
}

/// `*(u32 *)(rS + off)`, `*(s16 *)(...)` or `*(u8 *)skb[...]`.
fn load(c: &mut Cursor, dst: Reg) -> Result<Insn, AsmError> {
    let (size, signed) = super::llvm::ptr_type(c)?;
    if c.eat_word("skb") {
        if dst != Reg::R0 || signed || size == Size::DW {
            return Err(invalid(
                c,
                "packet loads are `r0 = *(u8|u16|u32 *)skb[...]`",
            ));
        }
        c.expect("[")?;
        let (mode, imm) = if c.at_reg() {
            let (_, r) = c.reg()?;
            let imm = if c.eat("+") { c.imm32()? } else { 0 };
            (PacketMode::Ind(r), imm)
        } else {
            (PacketMode::Abs, c.imm32()?)
        };
        c.expect("]")?;
        return Ok(Insn::LoadPacket { mode, size, imm });
    }
    if signed && size == Size::DW {
        return Err(invalid(c, "there is no sign-extending 64-bit load"));
    }
    let (src, off) = super::llvm::address(c, true)?;
    Ok(Insn::Load {
        size,
        signed,
        dst,
        src,
        off,
    })
}

/// Right-hand sides that start with a word: byte swaps and atomics.
fn word_rhs(c: &mut Cursor, width: Width, dst: Reg) -> Result<Option<Insn>, AsmError> {
    let save = c.save();
    let loc = c.loc();
    let Some(word) = c.ident() else {
        return Ok(None);
    };
    for (prefix, order) in [
        ("bswap", ByteOrder::Swap),
        ("be", ByteOrder::ToBe),
        ("le", ByteOrder::ToLe),
    ] {
        if let Some(bits) = word.strip_prefix(prefix) {
            if let Ok(bits @ (16 | 32 | 64)) = bits.parse::<u8>() {
                let (_, r) = c.reg()?;
                if r != dst {
                    return Err(invalid(
                        c,
                        "a byte swap must name its destination: `r1 = be16 r1`",
                    ));
                }
                return Ok(Some(Insn::Endian { order, dst, bits }));
            }
        }
    }
    let atomic = match word {
        "atomic_fetch_add" | "atomic64_fetch_add" => Some(AtomicOp::Add { fetch: true }),
        "atomic_fetch_or" | "atomic64_fetch_or" => Some(AtomicOp::Or { fetch: true }),
        "atomic_fetch_and" | "atomic64_fetch_and" => Some(AtomicOp::And { fetch: true }),
        "atomic_fetch_xor" | "atomic64_fetch_xor" => Some(AtomicOp::Xor { fetch: true }),
        "atomic_xchg" | "atomic64_xchg" => Some(AtomicOp::Xchg),
        "atomic_cmpxchg" | "atomic64_cmpxchg" => Some(AtomicOp::Cmpxchg),
        _ => None,
    };
    if let Some(op) = atomic {
        // Kernel and llvm style: `name((u64 *)(r1 + 8), [r0, ]r2)`.
        c.expect("(")?;
        let (size, _) = super::llvm::ptr_type(c)?;
        let (addr, off) = super::llvm::address(c, true)?;
        return atomic_tail(c, width, dst, op, size, addr, off).map(Some);
    }
    let xchg = match word {
        "xchg_64" => Some((AtomicOp::Xchg, Size::DW)),
        "xchg32_32" => Some((AtomicOp::Xchg, Size::W)),
        "cmpxchg_64" => Some((AtomicOp::Cmpxchg, Size::DW)),
        "cmpxchg32_32" => Some((AtomicOp::Cmpxchg, Size::W)),
        _ => None,
    };
    if let Some((op, size)) = xchg {
        // llvm style: `xchg_64(r1 + 8, r2)`.
        c.expect("(")?;
        let (addr, off) = super::llvm::address(c, false)?;
        return atomic_tail(c, width, dst, op, size, addr, off).map(Some);
    }
    let _ = loc;
    c.restore(save);
    Ok(None)
}

/// The operands after the address of a fetching atomic, up to `)`.
fn atomic_tail(
    c: &mut Cursor,
    _width: Width,
    dst: Reg,
    op: AtomicOp,
    size: Size,
    addr: Reg,
    off: i16,
) -> Result<Insn, AsmError> {
    if !matches!(size, Size::W | Size::DW) {
        return Err(invalid(c, "atomics are 32 or 64 bits wide"));
    }
    c.expect(",")?;
    if op == AtomicOp::Cmpxchg {
        let (_, r0) = c.reg()?;
        if r0 != Reg::R0 || dst != Reg::R0 {
            return Err(invalid(c, "cmpxchg compares with and returns r0"));
        }
        c.expect(",")?;
    }
    let (_, src) = c.reg()?;
    c.expect(")")?;
    if op != AtomicOp::Cmpxchg && src != dst {
        return Err(invalid(
            c,
            "a fetching atomic returns into its source register",
        ));
    }
    Ok(Insn::Atomic {
        size,
        op,
        dst: addr,
        src,
        off,
    })
}
