//! Jumps: a `cmp` (or `test`) and a `jcc` to the target slot's label;
//! the buffer picks the short form when it fits. A jump to the next
//! instruction emits nothing (comparisons have no side effects).
//!
//! Comparing with 0 uses `test r, r`, which sets ZF, SF, CF = 0 and OF = 0
//! exactly as `cmp r, 0` does, so every condition reads the same flags.

use super::regs::bpf;
use super::stubs::Stub;
use super::{Gen, Src};
use crate::x86::{self, Alu, Cc, Gpr};
use isa::{Insn, JmpCond, Operand, Reg, Width};

/// The x86 condition that holds when the BPF one does, after
/// `cmp dst, src` (or `test dst, src` for `jset`).
const fn cc(cond: JmpCond) -> Cc {
    match cond {
        JmpCond::Eq => Cc::E,
        JmpCond::Ne | JmpCond::Set => Cc::Ne,
        JmpCond::Gt => Cc::A,
        JmpCond::Ge => Cc::Ae,
        JmpCond::Lt => Cc::B,
        JmpCond::Le => Cc::Be,
        JmpCond::Sgt => Cc::G,
        JmpCond::Sge => Cc::Ge,
        JmpCond::Slt => Cc::L,
        JmpCond::Sle => Cc::Le,
    }
}

impl Gen<'_, '_> {
    /// `goto +off` (`ja`, `gotol`).
    pub(super) fn ja(&mut self, insn: Insn) {
        let t = self.target(&insn);
        if t != self.next_slot(&insn) {
            let l = self.slot_label(t);
            self.buf.jmp(l);
        }
    }

    /// `if dst cond src goto +off`.
    pub(super) fn jump(&mut self, insn: Insn, width: Width, cond: JmpCond, dst: Gpr, src: Operand) {
        let t = self.target(&insn);
        if t == self.next_slot(&insn) {
            return;
        }
        self.compare(width, cond, dst, src);
        let l = self.slot_label(t);
        self.buf.jcc(cc(cond), l);
    }

    /// The bounds check of a cursor advanced in place (see `cursor`): the
    /// comparison reads `base` (already `copy`'s value) where the program
    /// reads `copy`, and the taken branch steps `base` back in a stub.
    pub(super) fn cursor_check(&mut self, insn: Insn, base: Reg, copy: Reg, k: i32) {
        let Insn::Jump {
            width,
            cond,
            dst,
            src,
            ..
        } = insn
        else {
            unreachable!("cursor::plan checks that this is a jump")
        };
        let t = self.target(&insn);
        if t == self.next_slot(&insn) {
            return;
        }
        let swap = |r: Reg| bpf(if r == copy { base } else { r });
        let src = match src {
            Operand::Reg(r) if r == copy => Operand::Reg(base),
            other => other,
        };
        self.compare(width, cond, swap(dst), src);
        let label = self.label();
        let target = self.slot_label(t);
        self.stubs.push(Stub::CursorUndo {
            label,
            target,
            base: bpf(base),
            k,
        });
        self.buf.jcc(cc(cond), label);
    }

    /// The `cmp` (or `test`) of a conditional jump.
    fn compare(&mut self, width: Width, cond: JmpCond, dst: Gpr, src: Operand) {
        let w = width == Width::W64;
        match (cond, self.operand(src)) {
            (JmpCond::Set, Src::Reg(s)) => self.e(x86::test_rr(w, dst, s)),
            (JmpCond::Set, Src::Imm(i)) => self.e(x86::test_ri(w, dst, i)),
            (_, Src::Imm(0)) => self.e(x86::test_rr(w, dst, dst)),
            (_, Src::Imm(i)) => self.e(x86::alu_ri(Alu::Cmp, w, dst, i)),
            (_, Src::Reg(s)) => self.e(x86::alu_rr(Alu::Cmp, w, dst, s)),
        }
    }
}
