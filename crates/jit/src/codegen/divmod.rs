//! Division and modulo with BPF's semantics on hardware that traps.
//!
//! BPF defines what x86 `div`/`idiv` refuse: `x / 0 = 0`, `x % 0 = x` (at
//! 32 bits, the low half zero-extended), `INT_MIN / -1 = INT_MIN` and
//! `INT_MIN % -1 = 0` for the signed forms. The generated code tests the
//! divisor once and sends the rare cases to cold out-of-line stubs, so the
//! common path is the bare `div` with no taken branch and no flags saved
//! (uBPF's `pushf`/`popf` around every division is what makes its JIT six
//! times slower on division-heavy code).
//!
//! `div` works on `rdx:rax`, which hold BPF `r3` and `r0`: the divisor is
//! copied to `r11` first, then `rax`/`rdx` are parked in `r10`/`r9` (plain
//! register moves, nearly free) unless they are the destination.
//!
//! Immediate divisors are resolved at compile time: 0 and -1 need no
//! division at all, and unsigned division or modulo by a power of two
//! becomes a shift or a mask.

use super::regs::{SCRATCH_A, SCRATCH_B, SCRATCH_C};
use super::stubs::{Stub, ZeroAction};
use super::{Gen, Src};
use crate::x86::{self, Alu, Cc, Gpr, Mem, OpSize, Shift};
use isa::{AluOp, Operand};

const RAX: Gpr = Gpr::Rax;
const RDX: Gpr = Gpr::Rdx;

impl Gen<'_, '_> {
    /// `dst /= src`, `dst %= src`, signed or not, at 32 or 64 bits.
    pub(super) fn divmod(&mut self, w: bool, op: AluOp, dst: Gpr, src: Operand) {
        let signed = matches!(op, AluOp::SDiv | AluOp::SMod);
        let is_mod = matches!(op, AluOp::Mod | AluOp::SMod);
        match self.operand(src) {
            Src::Imm(imm) => self.divmod_imm(w, signed, is_mod, dst, imm),
            Src::Reg(s) => self.divmod_reg(w, signed, is_mod, dst, s),
        }
    }

    /// What `x / 0` or `x % 0` leaves in `dst`.
    fn zero_action(w: bool, is_mod: bool) -> ZeroAction {
        match (is_mod, w) {
            (false, _) => ZeroAction::Clear,
            (true, true) => ZeroAction::Keep,
            (true, false) => ZeroAction::Truncate,
        }
    }

    fn divmod_reg(&mut self, w: bool, signed: bool, is_mod: bool, dst: Gpr, s: Gpr) {
        let done = self.label();
        let special = self.label();
        let zero = Self::zero_action(w, is_mod);
        if signed {
            // src ∈ {0, -1} ⇔ src + 1 ∈ {1, 0} ⇔ (src + 1) <=u 1.
            self.e(x86::lea(SCRATCH_A, Mem::at(s, 1)));
            self.e(x86::alu_ri(Alu::Cmp, w, SCRATCH_A, 1));
            self.buf.jcc(Cc::Be, special);
            self.stubs.push(Stub::SignedDivSpecial {
                label: special,
                back: done,
                w,
                is_mod,
                dst,
                src: s,
            });
        } else {
            self.e(x86::test_rr(w, s, s));
            if zero == ZeroAction::Keep {
                self.buf.jcc(Cc::E, done);
            } else {
                self.buf.jcc(Cc::E, special);
                self.stubs.push(Stub::DivZero {
                    label: special,
                    back: done,
                    w,
                    dst,
                    action: zero,
                });
            }
        }
        self.divide(w, signed, is_mod, dst, s);
        self.bind(done);
    }

    /// The division proper: a divisor in `rax`, `rdx` or a scratch
    /// register is copied to `r11` first, since those are about to change;
    /// any other register divides in place.
    fn divide(&mut self, w: bool, signed: bool, is_mod: bool, dst: Gpr, s: Gpr) {
        // A divisor in a register about to change (rax, rdx, or the
        // scratch registers that park them) is copied first.
        let divisor = if [RAX, RDX, SCRATCH_B, SCRATCH_C].contains(&s) {
            SCRATCH_A
        } else {
            s
        };
        if divisor != s {
            self.e(x86::mov_rr(true, SCRATCH_A, s));
        }
        // rax and rdx are parked only when their BPF registers (r0, r3)
        // are read again: a dead one may keep what `div` leaves.
        let keep_rax = dst != RAX && self.live_after(RAX);
        let keep_rdx = dst != RDX && self.live_after(RDX);
        if keep_rax {
            self.e(x86::mov_rr(true, SCRATCH_B, RAX));
        }
        if keep_rdx {
            self.e(x86::mov_rr(true, SCRATCH_C, RDX));
        }
        if dst != RAX {
            self.e(x86::mov_rr(true, RAX, dst));
        }
        if signed {
            self.e(x86::cqo(w));
            self.e(x86::idiv(w, divisor));
        } else if w {
            // Both operands below 2^32 (nearly always): the 32-bit `div`,
            // whose latency is shorter; `rdx` is 0 after the check, as the
            // 32-bit `div` wants it. Otherwise the 64-bit one, out of line.
            let slow = self.label();
            let back = self.label();
            self.e(x86::mov_rr(true, RDX, RAX));
            self.e(x86::alu_rr(Alu::Or, true, RDX, divisor));
            self.e(x86::shift_ri(Shift::Shr, OpSize::B64, RDX, 32));
            self.buf.jcc(Cc::Ne, slow);
            self.e(x86::div(false, divisor));
            self.bind(back);
            self.stubs.push(Stub::Div64 {
                label: slow,
                back,
                divisor,
            });
        } else {
            self.e(x86::alu_rr(Alu::Xor, false, RDX, RDX));
            self.e(x86::div(w, divisor));
        }
        let result = if is_mod { RDX } else { RAX };
        if dst != result {
            self.e(x86::mov_rr(w, dst, result));
        }
        if keep_rdx {
            self.e(x86::mov_rr(true, RDX, SCRATCH_C));
        }
        if keep_rax {
            self.e(x86::mov_rr(true, RAX, SCRATCH_B));
        }
    }

    fn divmod_imm(&mut self, w: bool, signed: bool, is_mod: bool, dst: Gpr, imm: i32) {
        // The divisor as the operation sees it.
        let d = if w {
            imm as i64 as u64
        } else {
            imm as u32 as u64
        };
        let minus_one = if w { u64::MAX } else { u32::MAX as u64 };
        if d == 0 {
            return self.zero_result(w, dst, Self::zero_action(w, is_mod));
        }
        if signed && d == minus_one {
            // x / -1 = -x (wrapping at INT_MIN), x % -1 = 0.
            return if is_mod {
                self.e(x86::alu_rr(Alu::Xor, false, dst, dst));
            } else {
                self.e(x86::neg(w, dst));
            };
        }
        if !signed && d.is_power_of_two() {
            return self.divmod_pow2(w, is_mod, dst, d);
        }
        if !signed && !w && !is_mod {
            return self.div32_by_constant(dst, d);
        }
        self.e(x86::mov_imm64(SCRATCH_A, d));
        self.divide(w, signed, is_mod, dst, SCRATCH_A);
    }

    /// 32-bit unsigned division by a constant `d` (not a power of two) as a
    /// multiplication: `x / d = (x * c) >> 64` with `c = ceil(2^64 / d)`,
    /// exact for every 32-bit `x` (Lemire, Kaser and Kurz, "Faster
    /// remainder by direct computation", 2019: a 64-bit fraction suffices
    /// for 32-bit numerators and divisors). `mul` takes a few cycles where
    /// `div` takes tens; compilers do the same.
    fn div32_by_constant(&mut self, dst: Gpr, d: u64) {
        let c = u64::MAX / d + 1;
        let keep_rax = dst != RAX && self.live_after(RAX);
        let keep_rdx = dst != RDX && self.live_after(RDX);
        if keep_rax {
            self.e(x86::mov_rr(true, SCRATCH_B, RAX));
        }
        if keep_rdx {
            self.e(x86::mov_rr(true, SCRATCH_C, RDX));
        }
        self.e(x86::mov_rr(false, RAX, dst));
        self.e(x86::mov_r64_i64(RDX, c));
        self.e(x86::mul(true, RDX));
        // The quotient is below 2^32, so rdx holds it zero-extended.
        if dst != RDX {
            self.e(x86::mov_rr(true, dst, RDX));
        }
        if keep_rdx {
            self.e(x86::mov_rr(true, RDX, SCRATCH_C));
        }
        if keep_rax {
            self.e(x86::mov_rr(true, RAX, SCRATCH_B));
        }
    }

    /// Unsigned by `2^k`: a shift or a mask (a `mov r32, r32` when the
    /// result is `dst` itself at 32 bits, for the zero-extension).
    fn divmod_pow2(&mut self, w: bool, is_mod: bool, dst: Gpr, d: u64) {
        let k = d.trailing_zeros() as u8;
        let size = if w { OpSize::B64 } else { OpSize::B32 };
        match (is_mod, k) {
            (false, 0) if !w => self.e(x86::mov_rr(false, dst, dst)),
            (false, 0) => {}
            (false, _) => self.e(x86::shift_ri(Shift::Shr, size, dst, k)),
            // d - 1 < 2^31 here: d is at most 2^31 at 32 bits (and a
            // positive sign-extended immediate at 64).
            (true, _) => self.e(x86::alu_ri(Alu::And, w, dst, (d - 1) as i32)),
        }
    }

    /// `dst` after dividing by a constant zero.
    pub(super) fn zero_result(&mut self, _w: bool, dst: Gpr, action: ZeroAction) {
        match action {
            ZeroAction::Clear => self.e(x86::alu_rr(Alu::Xor, false, dst, dst)),
            ZeroAction::Keep => {}
            ZeroAction::Truncate => self.e(x86::mov_rr(false, dst, dst)),
        }
    }
}
