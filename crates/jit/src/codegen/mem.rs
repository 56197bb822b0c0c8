//! Loads, stores and atomics: one instruction each, on the address the
//! program computed — no checks, because only verified (or explicitly
//! trusted) programs are compiled, as in the kernel.
//!
//! Atomics are real locked instructions so that programs on several
//! threads sharing a map see each other, as the kernel's do: `lock add/or/
//! and/xor` without fetch, `lock xadd` for fetch-add, `xchg` (locked by
//! definition), `lock cmpxchg` with BPF `r0` already in `rax` where the
//! instruction wants its comparand, and a `cmpxchg` loop for fetch-or/and/
//! xor, which x86 has no single instruction for.

use super::regs::{SCRATCH_A, SCRATCH_B};
use super::{Gen, Src};
use crate::x86::{self, Alu, Cc, Gpr, Mem, OpSize};
use isa::{AtomicOp, Operand, Size};

const RAX: Gpr = Gpr::Rax;

pub(super) const fn op_size(size: Size) -> OpSize {
    match size {
        Size::B => OpSize::B8,
        Size::H => OpSize::B16,
        Size::W => OpSize::B32,
        Size::DW => OpSize::B64,
    }
}

impl Gen<'_, '_> {
    /// `dst = *(size *)(src + off)`, zero- or sign-extending.
    pub(super) fn load(&mut self, size: Size, signed: bool, dst: Gpr, src: Gpr, off: i16) {
        let m = Mem::at(src, off as i32);
        if signed {
            self.e(x86::load_sx(op_size(size), dst, m));
        } else {
            self.e(x86::load_zx(op_size(size), dst, m));
        }
    }

    /// `*(size *)(dst + off) = src`.
    pub(super) fn store(&mut self, size: Size, dst: Gpr, off: i16, src: Operand) {
        let m = Mem::at(dst, off as i32);
        match self.operand(src) {
            Src::Reg(s) => self.e(x86::store_r(op_size(size), m, s)),
            Src::Imm(i) => self.e(x86::store_i(op_size(size), m, i)),
        }
    }

    /// Atomic read-modify-write on `*(size *)(dst + off)` (W or DW).
    pub(super) fn atomic(&mut self, size: Size, op: AtomicOp, dst: Gpr, src: Gpr, off: i16) {
        let w = size == Size::DW;
        let m = Mem::at(dst, off as i32);
        match op {
            AtomicOp::Add { fetch: false } => self.e(x86::lock_alu_mr(Alu::Add, w, m, src)),
            AtomicOp::Or { fetch: false } => self.e(x86::lock_alu_mr(Alu::Or, w, m, src)),
            AtomicOp::And { fetch: false } => self.e(x86::lock_alu_mr(Alu::And, w, m, src)),
            AtomicOp::Xor { fetch: false } => self.e(x86::lock_alu_mr(Alu::Xor, w, m, src)),
            AtomicOp::Add { fetch: true } => self.e(x86::lock_xadd(w, m, src)),
            AtomicOp::Xchg => self.e(x86::xchg_mr(w, m, src)),
            AtomicOp::Cmpxchg => {
                self.e(x86::lock_cmpxchg(w, m, src));
                if !w {
                    // A successful 32-bit cmpxchg does not write eax, so
                    // nothing cleared the upper half of r0.
                    self.e(x86::mov_rr(false, RAX, RAX));
                }
            }
            AtomicOp::Or { fetch: true } => self.fetch_loop(w, Alu::Or, dst, src, off),
            AtomicOp::And { fetch: true } => self.fetch_loop(w, Alu::And, dst, src, off),
            AtomicOp::Xor { fetch: true } => self.fetch_loop(w, Alu::Xor, dst, src, off),
        }
    }

    /// `src = atomic_fetch_op(dst + off, src)` as a `cmpxchg` loop. `rax`
    /// (BPF r0) is parked in `r10`; when r0 is the address or the operand,
    /// the parked copy stands in for it.
    fn fetch_loop(&mut self, w: bool, op: Alu, dst: Gpr, src: Gpr, off: i16) {
        self.e(x86::mov_rr(true, SCRATCH_B, RAX));
        let base = if dst == RAX { SCRATCH_B } else { dst };
        let operand = if src == RAX { SCRATCH_B } else { src };
        let m = Mem::at(base, off as i32);
        let size = if w { OpSize::B64 } else { OpSize::B32 };
        self.e(x86::load_zx(size, RAX, m));
        let retry = self.label();
        self.bind(retry);
        self.e(x86::mov_rr(w, SCRATCH_A, RAX));
        self.e(x86::alu_rr(op, w, SCRATCH_A, operand));
        self.e(x86::lock_cmpxchg(w, m, SCRATCH_A));
        self.buf.jcc(Cc::Ne, retry);
        if src != RAX {
            // rax holds the old value, zero-extended at 32 bits (a 32-bit
            // load or a failed cmpxchg wrote eax; a successful one left the
            // loaded value).
            self.e(x86::mov_rr(w, src, RAX));
            self.e(x86::mov_rr(true, RAX, SCRATCH_B));
        }
    }
}
