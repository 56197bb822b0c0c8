//! Cold paths, emitted after the epilogue so that the hot path of every
//! instruction falls straight through: each stub is reached by a
//! conditional jump and ends by jumping back or to `unwind`.

use super::regs::{CTX, SCRATCH_A};
use super::Gen;
use crate::buffer::Label;
use crate::runtime::{self, RunCtx, Status, OFF_AUX, OFF_ERR_PC, OFF_STATUS};
use crate::x86::{self, Alu, Cc, Gpr, Mem, OpSize};

/// What `x / 0` or `x % 0` leaves in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZeroAction {
    /// Division: 0.
    Clear,
    /// 64-bit modulo: the destination unchanged.
    Keep,
    /// 32-bit modulo: the low half, zero-extended.
    Truncate,
}

/// Where the auxiliary value of a run error comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Aux {
    /// Already stored (or none needed).
    None,
    Imm(u32),
    Reg(Gpr),
}

/// One cold path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stub {
    /// Stop the run: record `status`, `pc` and the auxiliary value, unwind.
    Error {
        label: Label,
        pc: u32,
        status: Status,
        aux: Aux,
    },
    /// Unsigned division or 32-bit modulo by zero.
    DivZero {
        label: Label,
        back: Label,
        w: bool,
        dst: Gpr,
        action: ZeroAction,
    },
    /// Signed division or modulo by 0 or -1.
    SignedDivSpecial {
        label: Label,
        back: Label,
        w: bool,
        is_mod: bool,
        dst: Gpr,
        src: Gpr,
    },
    /// A 64-bit unsigned division whose operands do not both fit in 32
    /// bits: `rdx:rax / divisor` the long way (`rdx` is to be cleared).
    Div64 {
        label: Label,
        back: Label,
        divisor: Gpr,
    },
    /// A legacy packet load the fast path refused; the offset is in r11.
    PacketSlow { label: Label, back: Label, size: u8 },
    /// The taken branch of a cursor's bounds check: `base -= k`, then the
    /// program's target (see `cursor`).
    CursorUndo {
        label: Label,
        target: Label,
        base: Gpr,
        k: i32,
    },
}

impl Gen<'_, '_> {
    pub(super) fn emit_stubs(&mut self) {
        for stub in std::mem::take(&mut self.stubs) {
            match stub {
                Stub::Error {
                    label,
                    pc,
                    status,
                    aux,
                } => {
                    self.bind(label);
                    self.error_stub(pc, status, aux);
                }
                Stub::DivZero {
                    label,
                    back,
                    w,
                    dst,
                    action,
                } => {
                    self.bind(label);
                    self.zero_result(w, dst, action);
                    self.buf.jmp(back);
                }
                Stub::SignedDivSpecial {
                    label,
                    back,
                    w,
                    is_mod,
                    dst,
                    src,
                } => {
                    self.bind(label);
                    self.signed_special(back, w, is_mod, dst, src);
                }
                Stub::Div64 {
                    label,
                    back,
                    divisor,
                } => {
                    self.bind(label);
                    self.e(x86::alu_rr(Alu::Xor, false, Gpr::Rdx, Gpr::Rdx));
                    self.e(x86::div(true, divisor));
                    self.buf.jmp(back);
                }
                Stub::PacketSlow { label, back, size } => {
                    self.bind(label);
                    self.packet_slow(back, size);
                }
                Stub::CursorUndo {
                    label,
                    target,
                    base,
                    k,
                } => {
                    self.bind(label);
                    self.e(x86::alu_ri(Alu::Sub, true, base, k));
                    self.buf.jmp(target);
                }
            }
        }
        if self.an.has_packet {
            let miss = self.packet_miss;
            self.bind(miss);
            self.e(x86::alu_rr(Alu::Xor, false, Gpr::Rax, Gpr::Rax));
            // The run ends, from whatever depth (callbacks included).
            self.e(x86::store_i(
                OpSize::B32,
                Mem::at(CTX, OFF_STATUS),
                Status::End as i32,
            ));
            let unwind = self.unwind;
            self.buf.jmp(unwind);
        }
    }

    fn error_stub(&mut self, pc: u32, status: Status, aux: Aux) {
        match aux {
            Aux::None => {}
            Aux::Imm(v) => self.e(x86::store_i(OpSize::B64, Mem::at(CTX, OFF_AUX), v as i32)),
            Aux::Reg(r) => self.e(x86::store64(Mem::at(CTX, OFF_AUX), r)),
        }
        self.e(x86::store_i(
            OpSize::B32,
            Mem::at(CTX, OFF_ERR_PC),
            pc as i32,
        ));
        self.e(x86::store_i(
            OpSize::B32,
            Mem::at(CTX, OFF_STATUS),
            status as i32,
        ));
        let unwind = self.unwind;
        self.buf.jmp(unwind);
    }

    /// The divisor is 0 or -1 (in `src`, untouched so far).
    fn signed_special(&mut self, back: Label, w: bool, is_mod: bool, dst: Gpr, src: Gpr) {
        let minus_one = self.label();
        self.e(x86::test_rr(w, src, src));
        self.buf.jcc(Cc::Ne, minus_one);
        let zero = match (is_mod, w) {
            (false, _) => ZeroAction::Clear,
            (true, true) => ZeroAction::Keep,
            (true, false) => ZeroAction::Truncate,
        };
        self.zero_result(w, dst, zero);
        self.buf.jmp(back);
        self.bind(minus_one);
        if is_mod {
            self.e(x86::alu_rr(Alu::Xor, false, dst, dst));
        } else {
            self.e(x86::neg(w, dst));
        }
        self.buf.jmp(back);
    }

    /// Calls `runtime::packet_load(ctx, k, size)` with r1–r5 preserved
    /// (the interpreter preserves them; the kernel's verifier would not let
    /// a program read them, but a trusted program may). Six pushes keep
    /// `rsp` 16-byte aligned for the call.
    fn packet_slow(&mut self, back: Label, size: u8) {
        const ARGS: [Gpr; 5] = [Gpr::Rdi, Gpr::Rsi, Gpr::Rdx, Gpr::Rcx, Gpr::R8];
        for r in ARGS {
            self.e(x86::push(r));
        }
        self.e(x86::alu_ri(Alu::Sub, true, Gpr::Rsp, 8));
        self.e(x86::mov_rr(true, Gpr::Rdi, CTX));
        self.e(x86::mov_rr(true, Gpr::Rsi, SCRATCH_A));
        self.e(x86::mov_r32_i32(Gpr::Rdx, size as u32));
        let f: unsafe extern "C" fn(*mut RunCtx<'_>, i64, u64) -> u64 = runtime::packet_load;
        self.buf.call_abs(f as usize as u64, Gpr::Rax);
        self.e(x86::alu_ri(Alu::Add, true, Gpr::Rsp, 8));
        for r in ARGS.into_iter().rev() {
            self.e(x86::pop(r));
        }
        self.e(x86::test_rr(true, Gpr::Rax, Gpr::Rax));
        let miss = self.packet_miss;
        self.buf.jcc(Cc::S, miss);
        self.buf.jmp(back);
    }
}
