//! ALU instructions: scalar transfer functions, register copies with id
//! linking, and the pointer arithmetic rules.

use super::Env;
use crate::domain::{alu as dalu, Range, Scalar};
use crate::error::*;
use crate::state::{Ptr, PtrKind, RegState, ScalarReg, State};
use isa::{AluOp, Insn, Operand, Reg, Width};

/// Largest offset a pointer may carry (`BPF_MAX_VAR_OFF`).
pub const MAX_VAR_OFF: i64 = 1 << 29;

/// The kernel's spelling of an operator in messages (`bpf_alu_string`).
fn op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Div | AluOp::SDiv => "/=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod | AluOp::SMod => "%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

impl Env {
    pub(super) fn check_alu(&mut self, st: &mut State, insn: &Insn) -> Result<(), Fail> {
        match *insn {
            Insn::Alu {
                op: AluOp::Mov,
                width,
                dst,
                src,
            } => self.check_mov(st, width, dst, src),
            Insn::Alu {
                op,
                width,
                dst,
                src,
            } => self.check_binop(st, op, width, dst, src),
            Insn::Neg { width, dst } => {
                self.read_reg(st, dst)?;
                self.write_reg(dst)?;
                // A pointer's bits are unknown to the program: the result is
                // an unknown scalar (the kernel allows this to root).
                let v = scalar_or_unknown(st.cur().reg(dst));
                let r = match st.cur().reg(dst) {
                    RegState::Scalar(_) => dalu::neg(width, &v),
                    _ => Scalar::UNKNOWN,
                };
                *st.cur_mut().reg_mut(dst) = RegState::scalar(r);
                Ok(())
            }
            Insn::Endian { order, dst, bits } => {
                self.read_reg(st, dst)?;
                self.write_reg(dst)?;
                let r = match st.cur().reg(dst) {
                    RegState::Scalar(s) => dalu::endian(order, bits, &s.val),
                    _ => Scalar::UNKNOWN,
                };
                *st.cur_mut().reg_mut(dst) = RegState::scalar(r);
                Ok(())
            }
            Insn::MovSx {
                width,
                dst,
                src,
                bits,
            } => {
                self.read_reg(st, src)?;
                self.write_reg(dst)?;
                let v = match st.cur().reg(src) {
                    RegState::Scalar(s) => dalu::movsx(width, bits, &s.val),
                    // A pointer's bits are unknown.
                    _ => Scalar::UNKNOWN,
                };
                *st.cur_mut().reg_mut(dst) = RegState::scalar(v);
                Ok(())
            }
            _ => Err(Fail::internal("check_alu on a non-ALU insn".into())),
        }
    }

    fn check_mov(
        &mut self,
        st: &mut State,
        width: Width,
        dst: Reg,
        src: Operand,
    ) -> Result<(), Fail> {
        let new = match src {
            Operand::Imm(imm) => {
                let v = match width {
                    Width::W64 => imm as i64 as u64,
                    Width::W32 => imm as u32 as u64,
                };
                RegState::scalar(Scalar::constant(v))
            }
            Operand::Reg(s) => {
                self.read_reg(st, s)?;
                self.copy_reg(st, width, s)
            }
        };
        self.write_reg(dst)?;
        *st.cur_mut().reg_mut(dst) = new;
        Ok(())
    }

    /// `dst = src`: a 64-bit copy keeps everything and links scalar copies
    /// through a shared id; a 32-bit copy zero-extends (a pointer becomes an
    /// unknown 32-bit scalar).
    fn copy_reg(&mut self, st: &mut State, width: Width, s: Reg) -> RegState {
        match (width, st.cur().reg(s).clone()) {
            (Width::W64, RegState::Scalar(mut sc)) => {
                if sc.id == 0 && !sc.val.is_const() {
                    sc.id = self.new_id();
                    *st.cur_mut().reg_mut(s) = RegState::Scalar(sc.clone());
                }
                RegState::Scalar(sc)
            }
            (Width::W64, r) => r,
            (Width::W32, RegState::Scalar(sc)) => RegState::scalar(dalu::mov32(&sc.val)),
            (Width::W32, _) => RegState::scalar(dalu::mov32(&Scalar::UNKNOWN)),
        }
    }

    fn check_binop(
        &mut self,
        st: &mut State,
        op: AluOp,
        width: Width,
        dst: Reg,
        src: Operand,
    ) -> Result<(), Fail> {
        let src_reg = match src {
            Operand::Reg(s) => {
                self.read_reg(st, s)?;
                st.cur().reg(s).clone()
            }
            Operand::Imm(imm) => RegState::scalar(Scalar::constant(imm as i64 as u64)),
        };
        self.read_reg(st, dst)?;
        if let Operand::Imm(imm) = src {
            // Constant operands the kernel refuses outright (registers may
            // hold anything: BPF defines division by zero and masks
            // shift amounts).
            let div = matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod);
            if div && imm == 0 {
                return Err(self.fail(EINVAL, "div by zero".into()));
            }
            let bits = if width == Width::W64 { 64 } else { 32 };
            if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && !(0..bits).contains(&imm) {
                return Err(self.fail(EINVAL, format!("invalid shift {imm}")));
            }
        }
        self.write_reg(dst)?;
        let dst_reg = st.cur().reg(dst).clone();
        let result = match (&dst_reg, &src_reg) {
            (RegState::Scalar(d), RegState::Scalar(s)) => {
                RegState::scalar(dalu::binop(op, width, &d.val, &s.val))
            }
            (RegState::Ptr(p), RegState::Scalar(s)) => {
                self.ptr_arith(op, width, dst, p, &s.val, false)?
            }
            (RegState::Scalar(d), RegState::Ptr(p)) => {
                self.ptr_arith(op, width, dst, p, &d.val, true)?
            }
            (RegState::Ptr(_), RegState::Ptr(_)) => {
                if op == AluOp::Sub {
                    // Pointer difference: an unknown scalar (root may leak it).
                    RegState::unknown()
                } else {
                    let msg = format!("R{} pointer {} pointer prohibited", dst.n(), op_str(op));
                    return Err(self.fail(EACCES, msg));
                }
            }
            _ => {
                return Err(Fail::internal(
                    "uninitialised ALU operand passed read check".into(),
                ))
            }
        };
        *st.cur_mut().reg_mut(dst) = result;
        Ok(())
    }

    /// `ptr op scalar` (or `scalar += ptr` with `swapped`).
    fn ptr_arith(
        &mut self,
        op: AluOp,
        width: Width,
        dst: Reg,
        ptr: &Ptr,
        off: &Scalar,
        swapped: bool,
    ) -> Result<RegState, Fail> {
        let d = dst.n();
        if width == Width::W32 {
            if op == AluOp::Sub {
                return Ok(RegState::unknown());
            }
            return Err(self.fail(EACCES, format!("R{d} 32-bit pointer arithmetic prohibited")));
        }
        let kname = ptr.kind.name();
        if ptr.kind.maybe_null() {
            let msg = format!("R{d} pointer arithmetic on {kname} prohibited, null-check it first");
            return Err(self.fail(EACCES, msg));
        }
        if ptr.kind == PtrKind::UntrustedMem && matches!(op, AluOp::Add | AluOp::Sub) {
            // Untrusted memory has no bounds to keep: any offset gives the
            // same untrusted memory (Linux 6.18 drops the offset too).
            return Ok(RegState::ptr(PtrKind::UntrustedMem));
        }
        let known = off.as_const();
        let allowed = match ptr.kind {
            PtrKind::MapPtr { .. } => known == Some(0) && op == AluOp::Add,
            PtrKind::PacketEnd => false,
            _ => true,
        };
        if !allowed {
            return Err(self.fail(
                EACCES,
                format!("R{d} pointer arithmetic on {kname} prohibited"),
            ));
        }
        self.check_sane_offset(off, None, kname)?;
        self.check_sane_offset(&ptr.var, Some(ptr.off), kname)?;
        let mut p = ptr.clone();
        match op {
            AluOp::Add => self.ptr_add(&mut p, ptr, off, known),
            AluOp::Sub => {
                if swapped {
                    return Err(self.fail(
                        EACCES,
                        format!("R{d} tried to subtract pointer from scalar"),
                    ));
                }
                if matches!(ptr.kind, PtrKind::Stack { .. }) {
                    return Err(self.fail(
                        EACCES,
                        format!("R{d} subtraction from stack pointer prohibited"),
                    ));
                }
                self.ptr_sub(&mut p, ptr, off, known);
            }
            AluOp::And | AluOp::Or | AluOp::Xor => {
                let msg = format!("R{d} bitwise operator {} on pointer prohibited", op_str(op));
                return Err(self.fail(EACCES, msg));
            }
            _ => {
                let msg = format!(
                    "R{d} pointer arithmetic with {} operator prohibited",
                    op_str(op)
                );
                return Err(self.fail(EACCES, msg));
            }
        }
        self.check_sane_offset(&p.var, Some(p.off), kname)?;
        Ok(RegState::Ptr(p))
    }

    fn ptr_add(&mut self, p: &mut Ptr, ptr: &Ptr, off: &Scalar, known: Option<u64>) {
        if let Some(k) = known {
            let sum = ptr.off as i64 + k as i64;
            if sum == sum as i32 as i64 {
                p.off = sum as i32;
                return;
            }
        }
        // A variable offset: ranges add, the fixed part stays.
        let mut v = dalu::binop(AluOp::Add, Width::W64, &ptr.var, off);
        v.mark_32_unbounded();
        v.sync();
        p.var = v;
        if ptr.kind.is_pkt() {
            p.id = self.new_id();
            p.kind = reset_range(p.kind);
        }
    }

    fn ptr_sub(&mut self, p: &mut Ptr, ptr: &Ptr, off: &Scalar, known: Option<u64>) {
        if let Some(k) = known {
            let diff = ptr.off as i64 - k as i64;
            if diff == diff as i32 as i64 {
                p.off = diff as i32;
                return;
            }
        }
        let mut v = dalu::binop(AluOp::Sub, Width::W64, &ptr.var, off);
        v.mark_32_unbounded();
        v.sync();
        p.var = v;
        if ptr.kind.is_pkt() {
            p.id = self.new_id();
            if off.s64.min < 0 {
                p.kind = reset_range(p.kind);
            }
        }
    }

    /// `check_reg_sane_offset`: offsets beyond ±2^29 or unbounded below are
    /// refused.
    fn check_sane_offset(
        &mut self,
        v: &Scalar,
        fixed: Option<i32>,
        kname: &str,
    ) -> Result<(), Fail> {
        if let Some(c) = v.as_const() {
            let c = c as i64;
            if fixed.is_none() && !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&c) {
                let msg = format!("math between {kname} pointer and {c} is not allowed");
                return Err(self.fail(EACCES, msg));
            }
        }
        if let Some(off) = fixed {
            let off = off as i64;
            if !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&off) {
                let msg = format!("{kname} pointer offset {off} is not allowed");
                return Err(self.fail(EACCES, msg));
            }
        }
        if v.s64.min == i64::MIN {
            let msg = format!(
                "math between {kname} pointer and register with unbounded min value is not allowed"
            );
            return Err(self.fail(EACCES, msg));
        }
        if !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&v.s64.min) {
            let msg = format!("value {} makes {kname} pointer be out of bounds", v.s64.min);
            return Err(self.fail(EACCES, msg));
        }
        Ok(())
    }
}

/// The scalar value of a register, unknown for a pointer.
fn scalar_or_unknown(r: &RegState) -> Scalar {
    r.as_scalar().copied().unwrap_or(Scalar::UNKNOWN)
}

/// A packet pointer moved by a variable amount has proven nothing yet.
fn reset_range(k: PtrKind) -> PtrKind {
    match k {
        PtrKind::Packet { .. } => PtrKind::Packet { range: 0 },
        PtrKind::PacketMeta { .. } => PtrKind::PacketMeta { range: 0 },
        k => k,
    }
}

/// Whether a scalar register state is within `[lo, hi]` signed.
#[allow(dead_code)]
pub fn within(s: &ScalarReg, lo: i64, hi: i64) -> bool {
    s.val.s64.is_subset_of(Range::new(lo, hi))
}
