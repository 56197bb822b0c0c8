//! ALU instructions other than division and shifts: moves, the
//! two-operand arithmetic and logic operations, `neg`, `movsx`, byte
//! swaps, `lddw`.
//!
//! 32-bit operations need no extra work to zero-extend: on x86-64 every
//! instruction that writes a 32-bit register clears the upper half. The
//! few places where no write would happen (a 32-bit move to itself, a
//! `le32`) emit an explicit `mov r32, r32`.

use super::{Gen, Src};
use crate::x86::{self, Alu, Gpr, OpSize, Shift};
use isa::{AluOp, ByteOrder, Operand, Width};

impl Gen<'_, '_> {
    /// `dst op= src` for every binary ALU operation.
    pub(super) fn alu(&mut self, width: Width, op: AluOp, dst: Gpr, src: Operand) {
        let w = width == Width::W64;
        match op {
            AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => self.divmod(w, op, dst, src),
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => self.shift(w, op, dst, src),
            AluOp::Mov => self.mov(w, dst, src),
            AluOp::Mul => self.mul(w, dst, src),
            AluOp::Add => self.simple(w, Alu::Add, dst, src),
            AluOp::Sub => self.simple(w, Alu::Sub, dst, src),
            AluOp::And => self.simple(w, Alu::And, dst, src),
            AluOp::Or => self.simple(w, Alu::Or, dst, src),
            AluOp::Xor => self.simple(w, Alu::Xor, dst, src),
        }
    }

    /// `add`/`sub`/`and`/`or`/`xor`: x86 sign-extends a 32-bit immediate
    /// at 64 bits exactly as BPF does.
    fn simple(&mut self, w: bool, op: Alu, dst: Gpr, src: Operand) {
        match self.operand(src) {
            Src::Reg(s) => self.e(x86::alu_rr(op, w, dst, s)),
            Src::Imm(i) => self.e(x86::alu_ri(op, w, dst, i)),
        }
    }

    fn mul(&mut self, w: bool, dst: Gpr, src: Operand) {
        match self.operand(src) {
            Src::Reg(s) => self.e(x86::imul_rr(w, dst, s)),
            Src::Imm(i) => self.e(x86::imul_rri(w, dst, dst, i)),
        }
    }

    fn mov(&mut self, w: bool, dst: Gpr, src: Operand) {
        match src {
            // A 64-bit move to itself is a no-op; at 32 bits it zero-extends.
            Operand::Reg(s) if w && super::regs::bpf(s) == dst => {}
            Operand::Reg(s) => self.e(x86::mov_rr(w, dst, super::regs::bpf(s))),
            Operand::Imm(i) => {
                let v = if w { i as i64 as u64 } else { i as u32 as u64 };
                self.load_imm(dst, v);
            }
        }
    }

    /// `dst = -dst`.
    pub(super) fn neg(&mut self, width: Width, dst: Gpr) {
        self.e(x86::neg(width == Width::W64, dst));
    }

    /// `dst = (s8/s16/s32) src`, to 64 bits or (zero-extended) 32 bits.
    pub(super) fn movsx(&mut self, width: Width, dst: Gpr, src: Gpr, bits: u8) {
        let from = match bits {
            8 => OpSize::B8,
            16 => OpSize::B16,
            _ => OpSize::B32,
        };
        match (width, from) {
            // `movsx` at 32 bits from 32 bits is a plain move (the decoder
            // does not produce it; kept total).
            (Width::W32, OpSize::B32) => self.e(x86::mov_rr(false, dst, src)),
            _ => self.e(x86::movsx_rr(from, width == Width::W64, dst, src)),
        }
    }

    /// Byte-order conversions on this little-endian machine: `le` only
    /// truncates, `be` and `bswap` swap.
    pub(super) fn endian(&mut self, order: ByteOrder, dst: Gpr, bits: u8) {
        match (order, bits) {
            (ByteOrder::ToLe, 16) => self.e(x86::movzx_r32_r16(dst, dst)),
            (ByteOrder::ToLe, 32) => self.e(x86::mov_rr(false, dst, dst)),
            (ByteOrder::ToLe, _) => {}
            (_, 16) => {
                self.e(x86::shift_ri(Shift::Rol, OpSize::B16, dst, 8));
                self.e(x86::movzx_r32_r16(dst, dst));
            }
            (_, 32) => self.e(x86::bswap(false, dst)),
            _ => self.e(x86::bswap(true, dst)),
        }
    }

    /// `lddw dst, value` (map pointers and function addresses already
    /// resolved to their value at compile time).
    pub(super) fn lddw(&mut self, dst: Gpr, value: u64) {
        self.load_imm(dst, value);
    }
}
