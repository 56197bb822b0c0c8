//! Shifts. x86 masks shift counts to 5 or 6 bits exactly as BPF does, so
//! the only difficulty is the count register: the classic forms take it in
//! `cl`, and `rcx` is BPF `r4`. With BMI2 (`shlx`/`shrx`/`sarx`) any
//! register can hold the count and nothing is shuffled; without it `rcx` is
//! parked in `r11` around the shift, with care for `r4` being the
//! destination, the count, or both.

use super::Gen;
use crate::x86::{self, Gpr, OpSize, Shift};
use isa::{AluOp, Operand};

use super::regs::{bpf, SCRATCH_A};

const RCX: Gpr = Gpr::Rcx;

impl Gen<'_, '_> {
    /// `dst <<= src`, `dst >>= src`, `dst s>>= src`.
    pub(super) fn shift(&mut self, w: bool, op: AluOp, dst: Gpr, src: Operand) {
        let kind = match op {
            AluOp::Lsh => Shift::Shl,
            AluOp::Rsh => Shift::Shr,
            _ => Shift::Sar,
        };
        match src {
            Operand::Imm(imm) => self.shift_imm(w, kind, dst, imm),
            Operand::Reg(s) => self.shift_reg(w, kind, dst, bpf(s)),
        }
    }

    fn shift_imm(&mut self, w: bool, kind: Shift, dst: Gpr, imm: i32) {
        let count = (imm as u32 & if w { 63 } else { 31 }) as u8;
        match (count, w) {
            (0, true) => {}
            // A zero count still zero-extends a 32-bit result.
            (0, false) => self.e(x86::mov_rr(false, dst, dst)),
            _ => {
                let size = if w { OpSize::B64 } else { OpSize::B32 };
                self.e(x86::shift_ri(kind, size, dst, count));
            }
        }
    }

    fn shift_reg(&mut self, w: bool, kind: Shift, dst: Gpr, s: Gpr) {
        if self.opts.bmi2 {
            return self.e(x86::shiftx(kind, w, dst, dst, s));
        }
        match (dst == RCX, s == RCX) {
            // The count is already in cl (and maybe so is the value).
            (_, true) => self.e(x86::shift_rcl(kind, w, dst)),
            // r4 is the destination: shift a copy, then put it back.
            (true, false) => {
                self.e(x86::mov_rr(true, SCRATCH_A, RCX));
                self.e(x86::mov_rr(true, RCX, s));
                self.e(x86::shift_rcl(kind, w, SCRATCH_A));
                self.e(x86::mov_rr(true, RCX, SCRATCH_A));
            }
            (false, false) => {
                self.e(x86::mov_rr(true, SCRATCH_A, RCX));
                self.e(x86::mov_rr(true, RCX, s));
                self.e(x86::shift_rcl(kind, w, dst));
                self.e(x86::mov_rr(true, RCX, SCRATCH_A));
            }
        }
    }
}
