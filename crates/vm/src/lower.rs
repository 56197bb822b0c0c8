//! [`Insn`] → [`Op`]: one function per instruction class. Operands are
//! converted to the width they are used at, shift counts masked, the byte
//! order resolved for this (little-endian) host. Control-flow targets are
//! resolved by the caller ([`crate::program`]), which passes them in.

use crate::op::{Op, NO_REG, R};
use isa::{AluOp, ByteOrder, JmpCond, Operand, PacketMode, Size, Width};

#[cfg(target_endian = "big")]
compile_error!("the interpreter assumes a little-endian host (BPF_TO_LE is a no-op)");

/// A binary ALU instruction.
pub(crate) fn alu(width: Width, op: AluOp, dst: isa::Reg, src: Operand) -> Op {
    let d = dst.n();
    match (width, src) {
        (Width::W64, Operand::Imm(imm)) => alu64_imm(op, d, imm),
        (Width::W64, Operand::Reg(s)) => alu64_reg(op, d, s.n()),
        (Width::W32, Operand::Imm(imm)) => alu32_imm(op, d, imm as u32),
        (Width::W32, Operand::Reg(s)) => alu32_reg(op, d, s.n()),
    }
}

fn alu64_imm(op: AluOp, d: R, imm: i32) -> Op {
    // 64-bit operations see the immediate sign-extended.
    let imm = imm as i64 as u64;
    let sh = (imm & 63) as u8;
    match op {
        AluOp::Add => Op::Add64I { d, imm },
        AluOp::Sub => Op::Sub64I { d, imm },
        AluOp::Mul => Op::Mul64I { d, imm },
        AluOp::Div => Op::Div64I { d, imm },
        AluOp::SDiv => Op::SDiv64I { d, imm },
        AluOp::Mod => Op::Mod64I { d, imm },
        AluOp::SMod => Op::SMod64I { d, imm },
        AluOp::Or => Op::Or64I { d, imm },
        AluOp::And => Op::And64I { d, imm },
        AluOp::Xor => Op::Xor64I { d, imm },
        AluOp::Mov => Op::Mov64I { d, imm },
        AluOp::Lsh => Op::Lsh64I { d, sh },
        AluOp::Rsh => Op::Rsh64I { d, sh },
        AluOp::Arsh => Op::Arsh64I { d, sh },
    }
}

fn alu64_reg(op: AluOp, d: R, s: R) -> Op {
    match op {
        AluOp::Add => Op::Add64R { d, s },
        AluOp::Sub => Op::Sub64R { d, s },
        AluOp::Mul => Op::Mul64R { d, s },
        AluOp::Div => Op::Div64R { d, s },
        AluOp::SDiv => Op::SDiv64R { d, s },
        AluOp::Mod => Op::Mod64R { d, s },
        AluOp::SMod => Op::SMod64R { d, s },
        AluOp::Or => Op::Or64R { d, s },
        AluOp::And => Op::And64R { d, s },
        AluOp::Xor => Op::Xor64R { d, s },
        AluOp::Mov => Op::Mov64R { d, s },
        AluOp::Lsh => Op::Lsh64R { d, s },
        AluOp::Rsh => Op::Rsh64R { d, s },
        AluOp::Arsh => Op::Arsh64R { d, s },
    }
}

fn alu32_imm(op: AluOp, d: R, imm: u32) -> Op {
    let sh = (imm & 31) as u8;
    match op {
        AluOp::Add => Op::Add32I { d, imm },
        AluOp::Sub => Op::Sub32I { d, imm },
        AluOp::Mul => Op::Mul32I { d, imm },
        AluOp::Div => Op::Div32I { d, imm },
        AluOp::SDiv => Op::SDiv32I { d, imm },
        AluOp::Mod => Op::Mod32I { d, imm },
        AluOp::SMod => Op::SMod32I { d, imm },
        AluOp::Or => Op::Or32I { d, imm },
        AluOp::And => Op::And32I { d, imm },
        AluOp::Xor => Op::Xor32I { d, imm },
        AluOp::Mov => Op::Mov32I { d, imm },
        AluOp::Lsh => Op::Lsh32I { d, sh },
        AluOp::Rsh => Op::Rsh32I { d, sh },
        AluOp::Arsh => Op::Arsh32I { d, sh },
    }
}

fn alu32_reg(op: AluOp, d: R, s: R) -> Op {
    match op {
        AluOp::Add => Op::Add32R { d, s },
        AluOp::Sub => Op::Sub32R { d, s },
        AluOp::Mul => Op::Mul32R { d, s },
        AluOp::Div => Op::Div32R { d, s },
        AluOp::SDiv => Op::SDiv32R { d, s },
        AluOp::Mod => Op::Mod32R { d, s },
        AluOp::SMod => Op::SMod32R { d, s },
        AluOp::Or => Op::Or32R { d, s },
        AluOp::And => Op::And32R { d, s },
        AluOp::Xor => Op::Xor32R { d, s },
        AluOp::Mov => Op::Mov32R { d, s },
        AluOp::Lsh => Op::Lsh32R { d, s },
        AluOp::Rsh => Op::Rsh32R { d, s },
        AluOp::Arsh => Op::Arsh32R { d, s },
    }
}

/// `neg`, `movsx`, and the byte-order instructions.
pub(crate) fn neg(width: Width, dst: isa::Reg) -> Op {
    match width {
        Width::W64 => Op::Neg64 { d: dst.n() },
        Width::W32 => Op::Neg32 { d: dst.n() },
    }
}

pub(crate) fn movsx(width: Width, dst: isa::Reg, src: isa::Reg, bits: u8) -> Op {
    let (d, s) = (dst.n(), src.n());
    match width {
        Width::W64 => Op::MovSx64 { d, s, bits },
        Width::W32 => Op::MovSx32 { d, s, bits },
    }
}

pub(crate) fn endian(order: ByteOrder, dst: isa::Reg, bits: u8) -> Op {
    let d = dst.n();
    match (order, bits) {
        (ByteOrder::ToLe, 16) => Op::Le16 { d },
        (ByteOrder::ToLe, 32) => Op::Le32 { d },
        (ByteOrder::ToLe, _) => Op::Nop,
        (ByteOrder::ToBe | ByteOrder::Swap, 16) => Op::Bswap16 { d },
        (ByteOrder::ToBe | ByteOrder::Swap, 32) => Op::Bswap32 { d },
        (ByteOrder::ToBe | ByteOrder::Swap, _) => Op::Bswap64 { d },
    }
}

/// `ldx*` / `ldxs*`.
pub(crate) fn load(size: Size, signed: bool, dst: isa::Reg, src: isa::Reg, off: i16) -> Op {
    let (d, s) = (dst.n(), src.n());
    match (size, signed) {
        (Size::B, false) => Op::Ldx8 { d, s, off },
        (Size::H, false) => Op::Ldx16 { d, s, off },
        (Size::W, false) => Op::Ldx32 { d, s, off },
        (Size::DW, _) => Op::Ldx64 { d, s, off },
        (Size::B, true) => Op::Ldxs8 { d, s, off },
        (Size::H, true) => Op::Ldxs16 { d, s, off },
        (Size::W, true) => Op::Ldxs32 { d, s, off },
    }
}

/// `st*` / `stx*`.
pub(crate) fn store(size: Size, dst: isa::Reg, off: i16, src: Operand) -> Op {
    let d = dst.n();
    match (size, src) {
        (Size::B, Operand::Imm(imm)) => Op::St8 { d, off, imm },
        (Size::H, Operand::Imm(imm)) => Op::St16 { d, off, imm },
        (Size::W, Operand::Imm(imm)) => Op::St32 { d, off, imm },
        (Size::DW, Operand::Imm(imm)) => Op::St64 { d, off, imm },
        (Size::B, Operand::Reg(s)) => Op::Stx8 { d, s: s.n(), off },
        (Size::H, Operand::Reg(s)) => Op::Stx16 { d, s: s.n(), off },
        (Size::W, Operand::Reg(s)) => Op::Stx32 { d, s: s.n(), off },
        (Size::DW, Operand::Reg(s)) => Op::Stx64 { d, s: s.n(), off },
    }
}

/// `ldabs*` / `ldind*`.
pub(crate) fn packet(mode: PacketMode, size: Size, imm: i32) -> Op {
    let ind = match mode {
        PacketMode::Abs => NO_REG,
        PacketMode::Ind(r) => r.n(),
    };
    Op::LdPacket { size, ind, imm }
}

/// A conditional jump to the absolute slot `t`.
pub(crate) fn jump(width: Width, cond: JmpCond, dst: isa::Reg, src: Operand, t: u32) -> Op {
    let d = dst.n();
    match (width, src) {
        (Width::W64, Operand::Imm(imm)) => jump64_imm(cond, d, imm as i64 as u64, t),
        (Width::W64, Operand::Reg(s)) => jump64_reg(cond, d, s.n(), t),
        (Width::W32, Operand::Imm(imm)) => jump32_imm(cond, d, imm as u32, t),
        (Width::W32, Operand::Reg(s)) => jump32_reg(cond, d, s.n(), t),
    }
}

fn jump64_imm(cond: JmpCond, d: R, imm: u64, t: u32) -> Op {
    match cond {
        JmpCond::Eq => Op::Jeq64I { d, imm, t },
        JmpCond::Ne => Op::Jne64I { d, imm, t },
        JmpCond::Gt => Op::Jgt64I { d, imm, t },
        JmpCond::Ge => Op::Jge64I { d, imm, t },
        JmpCond::Lt => Op::Jlt64I { d, imm, t },
        JmpCond::Le => Op::Jle64I { d, imm, t },
        JmpCond::Set => Op::Jset64I { d, imm, t },
        JmpCond::Sgt => Op::Jsgt64I { d, imm, t },
        JmpCond::Sge => Op::Jsge64I { d, imm, t },
        JmpCond::Slt => Op::Jslt64I { d, imm, t },
        JmpCond::Sle => Op::Jsle64I { d, imm, t },
    }
}

fn jump64_reg(cond: JmpCond, d: R, s: R, t: u32) -> Op {
    match cond {
        JmpCond::Eq => Op::Jeq64R { d, s, t },
        JmpCond::Ne => Op::Jne64R { d, s, t },
        JmpCond::Gt => Op::Jgt64R { d, s, t },
        JmpCond::Ge => Op::Jge64R { d, s, t },
        JmpCond::Lt => Op::Jlt64R { d, s, t },
        JmpCond::Le => Op::Jle64R { d, s, t },
        JmpCond::Set => Op::Jset64R { d, s, t },
        JmpCond::Sgt => Op::Jsgt64R { d, s, t },
        JmpCond::Sge => Op::Jsge64R { d, s, t },
        JmpCond::Slt => Op::Jslt64R { d, s, t },
        JmpCond::Sle => Op::Jsle64R { d, s, t },
    }
}

fn jump32_imm(cond: JmpCond, d: R, imm: u32, t: u32) -> Op {
    match cond {
        JmpCond::Eq => Op::Jeq32I { d, imm, t },
        JmpCond::Ne => Op::Jne32I { d, imm, t },
        JmpCond::Gt => Op::Jgt32I { d, imm, t },
        JmpCond::Ge => Op::Jge32I { d, imm, t },
        JmpCond::Lt => Op::Jlt32I { d, imm, t },
        JmpCond::Le => Op::Jle32I { d, imm, t },
        JmpCond::Set => Op::Jset32I { d, imm, t },
        JmpCond::Sgt => Op::Jsgt32I { d, imm, t },
        JmpCond::Sge => Op::Jsge32I { d, imm, t },
        JmpCond::Slt => Op::Jslt32I { d, imm, t },
        JmpCond::Sle => Op::Jsle32I { d, imm, t },
    }
}

fn jump32_reg(cond: JmpCond, d: R, s: R, t: u32) -> Op {
    match cond {
        JmpCond::Eq => Op::Jeq32R { d, s, t },
        JmpCond::Ne => Op::Jne32R { d, s, t },
        JmpCond::Gt => Op::Jgt32R { d, s, t },
        JmpCond::Ge => Op::Jge32R { d, s, t },
        JmpCond::Lt => Op::Jlt32R { d, s, t },
        JmpCond::Le => Op::Jle32R { d, s, t },
        JmpCond::Set => Op::Jset32R { d, s, t },
        JmpCond::Sgt => Op::Jsgt32R { d, s, t },
        JmpCond::Sge => Op::Jsge32R { d, s, t },
        JmpCond::Slt => Op::Jslt32R { d, s, t },
        JmpCond::Sle => Op::Jsle32R { d, s, t },
    }
}
