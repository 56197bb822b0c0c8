//! Frames and calls: the entry trampoline, function prologues and the
//! epilogue, `exit`, helper calls, bpf-to-bpf calls, `callx`, tail calls,
//! and the tables `callx` reads.
//!
//! A helper call is `mov r9, env` and a direct `call` (arguments are
//! already where System V wants them), then one `cmp` of the
//! environment's fault flag, so a helper that called `RunEnv::fault` stops
//! the program right after it returns.

use super::analysis::Callee;
use super::regs::{CTX, SCRATCH_A, SCRATCH_B, SCRATCH_C};
use super::stubs::{Aux, Stub};
use super::{Gen, CALL_LIMIT_DELTA};
use crate::runtime::{self, Status, OFF_CALL_LIMIT, OFF_ENV, OFF_EXIT_RSP, OFF_FAULT_FLAG};
use crate::runtime::{RunCtx, OFF_DEEP, OFF_DEEP_STUB, OFF_SAVED};
use crate::runtime::{OFF_CB_HEADROOM, OFF_UNWIND_RSP};
use crate::x86::{self, Alu, Cc, Gpr, Mem, Scale};
use vm::{HelperFn, SUBPROG_ADDR_TAG};

use Gpr::*;

/// The runtime shims of the callback helpers (see `runtime::loop_shim`).
type CbShim = unsafe extern "C" fn(u64, u64, u64, u64, u64, *mut RunCtx<'static>) -> u64;

/// Registers of BPF r0–r5, in that order.
const CALLER_SAVED: [Gpr; 6] = [Rax, Rdi, Rsi, Rdx, Rcx, R8];

/// What a tail call from a callee keeps for its caller: BPF r6, r10, r7–r9.
const DEEP_SAVED: [Gpr; 5] = [Rbx, Rbp, R13, R14, R15];

impl Gen<'_, '_> {
    /// Offset 0: `extern "sysv64" fn(r1, r2, r3, r4, r5, ctx) -> r0`.
    pub(super) fn trampoline(&mut self) {
        let an = self.an;
        let saved = &an.host_saved;
        for &r in saved {
            self.e(x86::push(r));
        }
        // Keep rsp 16-byte aligned at calls: an even number of pushes needs
        // the extra word, an odd number already has it.
        let pad = if saved.len().is_multiple_of(2) { 8 } else { 0 };
        self.e(x86::mov_rr(true, CTX, R9));
        if pad != 0 {
            self.e(x86::alu_ri(Alu::Sub, true, Rsp, pad));
        }
        self.e(x86::store64(Mem::at(CTX, OFF_EXIT_RSP), Rsp));
        self.e(x86::lea(SCRATCH_A, Mem::at(Rsp, -8)));
        self.e(x86::store64(Mem::at(CTX, OFF_UNWIND_RSP), SCRATCH_A));
        self.e(x86::lea(SCRATCH_A, Mem::at(Rsp, -CALL_LIMIT_DELTA)));
        self.e(x86::store64(Mem::at(CTX, OFF_CALL_LIMIT), SCRATCH_A));
        // Registers start at zero, as in the interpreter (a verified
        // program never reads them before writing; a trusted one sees the
        // same values in both engines) — those read before written, that
        // is: zeroing the others could not be observed.
        self.zero_live_at_entry(saved);
        let f0 = self.func_label(0).expect("slot 0 is an entry");
        // Function 0 returns here, and so does `unwind` (with `rsp` back at
        // the value it had before the call).
        self.buf.call_label(f0);
        if pad != 0 {
            self.e(x86::alu_ri(Alu::Add, true, Rsp, pad));
        }
        for &r in saved.iter().rev() {
            self.e(x86::pop(r));
        }
        self.e(x86::ret());
        // Errors jump here from any depth, in this program or one it
        // tail-called: back to the innermost call from Rust.
        let unwind = self.unwind;
        self.bind(unwind);
        self.e(x86::load64(Rsp, Mem::at(CTX, OFF_UNWIND_RSP)));
        self.e(x86::ret());
    }

    /// The entry of a simple program (see `Analysis::simple`): function 0
    /// itself, called straight from Rust — save the host registers it
    /// names, zero them and r0, reserve the BPF stack if it uses one. No
    /// run context, no unwinding: nothing in it can stop early.
    pub(super) fn simple_entry(&mut self) {
        let an = self.an;
        for &r in &an.saved {
            self.e(x86::push(r));
        }
        let f0 = self.func_label(0).expect("slot 0 is an entry");
        self.bind(f0);
        if self.frame_sub() != 0 {
            self.e(x86::alu_ri(Alu::Sub, true, Rsp, self.frame_sub()));
        }
        if an.uses_fp {
            self.e(x86::lea(Rbp, Mem::at(Rsp, uapi::MAX_BPF_STACK as i32)));
        }
        self.zero_live_at_entry(&an.saved);
    }

    /// Zeroes r0 and those of r6–r9 in `saved` that are live at entry.
    fn zero_live_at_entry(&mut self, saved: &[Gpr]) {
        let an = self.an;
        if an.live_at_entry(isa::Reg::R0) {
            self.e(x86::alu_rr(Alu::Xor, false, Rax, Rax));
        }
        for &r in saved {
            let live = super::regs::bpf_of(r).is_some_and(|b| an.live_at_entry(b));
            if matches!(r, Rbx | R13 | R14 | R15) && live {
                self.e(x86::alu_rr(Alu::Xor, false, r, r));
            }
        }
    }

    /// A function's prologue: save, reserve the frame, set the frame
    /// pointer.
    pub(super) fn prologue(&mut self) {
        let saved = self.saved();
        for &r in saved {
            self.e(x86::push(r));
        }
        self.e(x86::alu_ri(Alu::Sub, true, Rsp, self.frame_sub()));
        // With per-function saves, `rbp` is saved exactly where the
        // function uses `r10`; otherwise (one function, whose registers the
        // trampoline saves, or the shared set) wherever any function does.
        let sets_fp = if self.per_function_saves() {
            saved.contains(&Rbp)
        } else {
            self.an.uses_fp
        };
        if sets_fp {
            self.e(x86::lea(Rbp, Mem::at(Rsp, uapi::MAX_BPF_STACK as i32)));
        }
    }

    /// Releases the frame and restores the saved registers (without the
    /// `ret`: tail calls jump instead).
    fn release_frame(&mut self) {
        if self.frame_sub() != 0 {
            self.e(x86::alu_ri(Alu::Add, true, Rsp, self.frame_sub()));
        }
        for &r in self.saved().iter().rev() {
            self.e(x86::pop(r));
        }
    }

    pub(super) fn epilogue_code(&mut self) {
        self.release_frame();
        self.e(x86::ret());
    }

    /// `exit`: the epilogue inline when it is one `add` and a `ret`, a jump
    /// to it otherwise (or nothing, when it follows).
    pub(super) fn exit(&mut self, i: usize) {
        if i + 1 == self.an.insns.len() {
            return; // the epilogue comes next
        }
        if self.saved().len() <= 1 || self.per_function_saves() {
            self.epilogue_code();
        } else {
            let l = self.epilogue;
            self.buf.jmp(l);
        }
    }

    /// `call imm`.
    pub(super) fn call(&mut self, callee: Option<Callee>) {
        match callee {
            Some(Callee::Helper { id, f }) => self.call_helper(f, Aux::Imm(id)),
            Some(Callee::TailCall) => self.tail_call(),
            Some(Callee::Loop) => {
                let f: CbShim = runtime::loop_shim;
                self.callback_helper(f);
            }
            Some(Callee::ForEachMapElem) => {
                let f: CbShim = runtime::for_each_shim;
                self.callback_helper(f);
            }
            Some(Callee::ArrayLookup(a)) => self.array_lookup(a),
            Some(Callee::KnownLookup) => self.known_lookup(),
            Some(Callee::Local(t)) => {
                self.depth_check();
                if let Some(l) = self.func_label(t) {
                    self.buf.call_label(l);
                }
            }
            None => {}
        }
    }

    /// A helper: env in `r9`, call, fault check.
    fn call_helper(&mut self, f: HelperFn, id: Aux) {
        self.e(x86::load64(SCRATCH_C, Mem::at(CTX, OFF_ENV)));
        self.buf.call_abs(f as usize as u64, Rax);
        self.after_helper(id);
    }

    /// The fault check after any helper, and the packet refresh when the
    /// program has legacy packet loads.
    fn after_helper(&mut self, id: Aux) {
        self.e(x86::load64(SCRATCH_A, Mem::at(CTX, OFF_FAULT_FLAG)));
        self.e(x86::cmp_m8_i8(Mem::at(SCRATCH_A, 0), 0));
        self.error_if(Cc::Ne, Status::HelperFault, id);
        if self.an.has_packet {
            self.e(x86::mov_rr(true, Rdi, CTX));
            self.e(x86::mov_rr(true, Rsi, Rax));
            let f: unsafe extern "C" fn(*mut RunCtx<'_>, u64) -> u64 = runtime::refresh_packet;
            self.buf.call_abs(f as usize as u64, Rax);
        }
    }

    /// Jumps to a stub that stops the run with `status` when `cc` holds.
    pub(super) fn error_if(&mut self, cc: Cc, status: Status, aux: Aux) {
        let label = self.label();
        self.buf.jcc(cc, label);
        self.stubs.push(Stub::Error {
            label,
            pc: self.pc as u32,
            status,
            aux,
        });
    }

    /// Before a bpf-to-bpf call: stop with `CallDepth` if the callee's
    /// frame would be number `MAX_CALL_FRAMES`.
    fn depth_check(&mut self) {
        self.e(x86::alu_rm(
            Alu::Cmp,
            true,
            Rsp,
            Mem::at(CTX, OFF_CALL_LIMIT),
        ));
        self.error_if(Cc::B, Status::CallDepth, Aux::None);
    }

    /// `callx reg`: a subprogram address (`SUBPROG_ADDR_TAG | slot`, the
    /// value `lddw` of a function loads) through the table of function
    /// entries, or — where the program allows it — a helper by number.
    pub(super) fn callx(&mut self, x: Gpr) {
        let bad = self.label();
        let not_sub = self.label();
        let done = self.label();
        self.subprog_address(x, not_sub, bad);
        self.depth_check();
        self.e(x86::call_r(SCRATCH_A));
        self.buf.jmp(done);
        self.bind(not_sub);
        if self.an.callx_helpers.is_some() {
            self.callx_helper(x, bad);
        } else {
            self.buf.jmp(bad);
        }
        self.stubs.push(Stub::Error {
            label: bad,
            pc: self.pc as u32,
            status: Status::BadCallTarget,
            aux: Aux::Reg(x),
        });
        self.bind(done);
    }

    /// The machine address of the subprogram whose address (the value an
    /// `lddw` of a function loads, `SUBPROG_ADDR_TAG | slot`) is in `x`,
    /// into [`SCRATCH_A`] through the table of function entries; jumps to
    /// `not_sub` when the tag is wrong, to `bad` when the slot begins no
    /// function. `x` is left as it was.
    fn subprog_address(
        &mut self,
        x: Gpr,
        not_sub: crate::buffer::Label,
        bad: crate::buffer::Label,
    ) {
        self.e(x86::mov_rr(true, SCRATCH_A, x));
        self.e(x86::shift_ri(
            x86::Shift::Shr,
            x86::OpSize::B64,
            SCRATCH_A,
            32,
        ));
        self.e(x86::alu_ri(
            Alu::Cmp,
            false,
            SCRATCH_A,
            (SUBPROG_ADDR_TAG >> 32) as i32,
        ));
        self.buf.jcc(Cc::Ne, not_sub);
        self.e(x86::mov_rr(false, SCRATCH_A, x));
        self.e(x86::alu_ri(Alu::Cmp, true, SCRATCH_A, self.an.slots as i32));
        self.buf.jcc(Cc::Ae, bad);
        let table = self.callx_table;
        self.buf.lea_label(SCRATCH_B, table);
        let entry = Mem::indexed(SCRATCH_B, SCRATCH_A, Scale::S4);
        self.e(x86::load_sx(x86::OpSize::B32, SCRATCH_A, entry));
        self.e(x86::test_rr(true, SCRATCH_A, SCRATCH_A));
        self.buf.jcc(Cc::E, bad);
        self.e(x86::alu_rr(Alu::Add, true, SCRATCH_A, SCRATCH_B));
    }

    /// `bpf_loop` / `bpf_for_each_map_elem`: the callback (r2) becomes its
    /// machine address, then the runtime shim `f` drives the iteration and
    /// calls the callback through the program's callback stub
    /// ([`Gen::callback_stub`]). The call-depth headroom and this
    /// instruction's index go to the run context first (for a callback
    /// that would be one frame too many). When the run stopped inside a
    /// callback, unwind further.
    fn callback_helper(&mut self, f: CbShim) {
        let bad = self.label();
        self.subprog_address(Rsi, bad, bad);
        self.stubs.push(Stub::Error {
            label: bad,
            pc: self.pc as u32,
            status: Status::BadCallTarget,
            aux: Aux::Reg(Rsi),
        });
        self.e(x86::mov_rr(true, Rsi, SCRATCH_A));
        self.e(x86::mov_rr(true, SCRATCH_A, Rsp));
        self.e(x86::alu_rm(
            Alu::Sub,
            true,
            SCRATCH_A,
            Mem::at(CTX, OFF_CALL_LIMIT),
        ));
        self.e(x86::store64(Mem::at(CTX, OFF_CB_HEADROOM), SCRATCH_A));
        self.e(x86::store_i(
            x86::OpSize::B32,
            Mem::at(CTX, runtime::OFF_ERR_PC),
            self.pc as i32,
        ));
        let stub = self.cb_stub;
        self.buf.lea_label(R8, stub);
        self.e(x86::mov_rr(true, SCRATCH_C, CTX));
        self.buf.call_abs(f as usize as u64, Rax);
        self.e(x86::alu_rmi(
            Alu::Cmp,
            false,
            x86::Rm::Mem(Mem::at(CTX, runtime::OFF_STATUS)),
            0,
        ));
        let unwind = self.unwind;
        self.buf.jcc(Cc::Ne, unwind);
        if self.an.has_packet {
            self.e(x86::mov_rr(true, Rdi, CTX));
            self.e(x86::mov_rr(true, Rsi, Rax));
            let f: unsafe extern "C" fn(*mut RunCtx<'_>, u64) -> u64 = runtime::refresh_packet;
            self.buf.call_abs(f as usize as u64, Rax);
        }
    }

    /// The callback stub, `extern "sysv64" fn(r1, r2, r3, r4, r5, frame:
    /// *const CbFrame) -> r0`, called by the shims once per callback: saves
    /// the host's callee-saved registers (an error inside the callback
    /// unwinds past the callback's epilogue), takes the run context into
    /// `r12`, makes itself the unwind target and sets the call limit so
    /// that the callback's frame counts one deeper than the helper's
    /// caller, calls the callback, and restores all of it.
    pub(super) fn callback_stub(&mut self) {
        const HOST: [Gpr; 6] = [Rbx, Rbp, R12, R13, R14, R15];
        let stub = self.cb_stub;
        self.bind(stub);
        for r in HOST {
            self.e(x86::push(r));
        }
        self.e(x86::load64(CTX, Mem::at(SCRATCH_C, runtime::OFF_CB_CTX)));
        self.e(x86::load64(SCRATCH_B, Mem::at(CTX, OFF_UNWIND_RSP)));
        self.e(x86::push(SCRATCH_B));
        self.e(x86::load64(SCRATCH_B, Mem::at(CTX, OFF_CALL_LIMIT)));
        self.e(x86::push(SCRATCH_B));
        // 8 pushes after the return address: one more word aligns the call.
        self.e(x86::alu_ri(Alu::Sub, true, Rsp, 8));
        self.e(x86::mov_rr(true, SCRATCH_A, Rsp));
        self.e(x86::alu_rm(
            Alu::Sub,
            true,
            SCRATCH_A,
            Mem::at(SCRATCH_C, runtime::OFF_CB_HEADROOM_ARG),
        ));
        self.e(x86::store64(Mem::at(CTX, OFF_CALL_LIMIT), SCRATCH_A));
        self.e(x86::lea(SCRATCH_A, Mem::at(Rsp, -8)));
        self.e(x86::store64(Mem::at(CTX, OFF_UNWIND_RSP), SCRATCH_A));
        self.e(x86::load64(
            SCRATCH_A,
            Mem::at(SCRATCH_C, runtime::OFF_CB_TARGET),
        ));
        self.e(x86::call_r(SCRATCH_A));
        self.e(x86::alu_ri(Alu::Add, true, Rsp, 8));
        self.e(x86::pop(SCRATCH_B));
        self.e(x86::store64(Mem::at(CTX, OFF_CALL_LIMIT), SCRATCH_B));
        self.e(x86::pop(SCRATCH_B));
        self.e(x86::store64(Mem::at(CTX, OFF_UNWIND_RSP), SCRATCH_B));
        for r in HOST.into_iter().rev() {
            self.e(x86::pop(r));
        }
        self.e(x86::ret());
    }

    /// The helper-number half of `callx`.
    fn callx_helper(&mut self, x: Gpr, bad: crate::buffer::Label) {
        let n = self.an.callx_helpers.as_ref().map_or(0, Vec::len);
        self.e(x86::alu_ri(Alu::Cmp, true, x, n as i32));
        self.buf.jcc(Cc::Ae, bad);
        let table = self.helper_table;
        self.buf.lea_label(SCRATCH_B, table);
        self.e(x86::load64(
            SCRATCH_A,
            Mem::indexed(SCRATCH_B, x, Scale::S8),
        ));
        self.e(x86::test_rr(true, SCRATCH_A, SCRATCH_A));
        self.buf.jcc(Cc::E, bad);
        self.e(x86::store64(Mem::at(CTX, runtime::OFF_AUX), x));
        self.e(x86::load64(SCRATCH_C, Mem::at(CTX, OFF_ENV)));
        self.e(x86::call_r(SCRATCH_A));
        self.after_helper(Aux::None);
    }

    /// `bpf_tail_call(ctx, map, index)`: ask the runtime for the target
    /// (counting, at most `MAX_TAIL_CALL_CNT`), release this frame and jump
    /// to the target's function 0, which finds the stack exactly as a call
    /// from this function's caller would have left it: in function 0 that
    /// is the trampoline's call, in a bpf-to-bpf callee the caller's (the
    /// target replaces the callee and returns to its caller, as in Linux;
    /// it saves the registers it writes, see `analysis::saved_regs`). A
    /// failed tail call restores r0–r5 and goes on. Inside a callback
    /// (where the unwind target is the callback stub's, not the
    /// trampoline's) the run stops, as in the interpreter.
    fn tail_call(&mut self) {
        self.e(x86::load64(SCRATCH_A, Mem::at(CTX, OFF_UNWIND_RSP)));
        self.e(x86::alu_ri(Alu::Add, true, SCRATCH_A, 8));
        self.e(x86::alu_rm(
            Alu::Cmp,
            true,
            SCRATCH_A,
            Mem::at(CTX, OFF_EXIT_RSP),
        ));
        self.error_if(Cc::Ne, Status::TailCallInCallback, Aux::None);
        for (i, r) in CALLER_SAVED.into_iter().enumerate() {
            self.e(x86::store64(Mem::at(CTX, OFF_SAVED + 8 * i as i32), r));
        }
        self.e(x86::mov_rr(true, Rdi, CTX));
        let f: unsafe extern "C" fn(*mut RunCtx<'_>, u64, u64) -> u64 = runtime::tail_call;
        self.buf.call_abs(f as usize as u64, Rax);
        let failed = self.label();
        self.e(x86::test_rr(true, Rax, Rax));
        self.buf.jcc(Cc::E, failed);
        self.e(x86::load64(Rdi, Mem::at(CTX, OFF_SAVED + 8)));
        self.release_frame();
        // `rsp` now points at the return address into this function's
        // caller: the trampoline at depth 0, else a bpf-to-bpf caller.
        let direct = self.label();
        self.e(x86::lea(SCRATCH_A, Mem::at(Rsp, 8)));
        self.e(x86::alu_rm(
            Alu::Cmp,
            true,
            SCRATCH_A,
            Mem::at(CTX, OFF_EXIT_RSP),
        ));
        self.buf.jcc(Cc::E, direct);
        self.deep_tail_call(direct);
        self.bind(direct);
        self.e(x86::jmp_r(Rax));
        self.bind(failed);
        for (i, r) in CALLER_SAVED.into_iter().enumerate() {
            self.e(x86::load64(r, Mem::at(CTX, OFF_SAVED + 8 * i as i32)));
        }
    }

    /// A tail call from a callee at depth d > 0 (see `RunCtx::deep`): the
    /// target returns to this function's caller, which expects its r6–r10
    /// back, and the target's function 0 may not save them (a single
    /// function leaves that to the entry trampoline). Unless the return
    /// address is already the deep-return stub (a tail call from a target
    /// that itself replaced a callee: the slot holds the first caller's
    /// state), record the caller's registers and return address in slot
    /// d - 1 and make the stub the return address. `rax` holds the target.
    fn deep_tail_call(&mut self, direct: crate::buffer::Label) {
        let have = self.label();
        self.e(x86::load64(SCRATCH_A, Mem::at(CTX, OFF_DEEP_STUB)));
        self.e(x86::test_rr(true, SCRATCH_A, SCRATCH_A));
        self.buf.jcc(Cc::Ne, have);
        let stub = self.deep_return;
        self.buf.lea_label(SCRATCH_A, stub);
        self.e(x86::store64(Mem::at(CTX, OFF_DEEP_STUB), SCRATCH_A));
        self.bind(have);
        self.e(x86::alu_rm(Alu::Cmp, true, SCRATCH_A, Mem::at(Rsp, 0)));
        self.buf.jcc(Cc::E, direct);
        // exit_rsp - (rsp + 8) = 560 * d.
        self.e(x86::load64(SCRATCH_A, Mem::at(CTX, OFF_EXIT_RSP)));
        self.e(x86::alu_rr(Alu::Sub, true, SCRATCH_A, Rsp));
        self.e(x86::alu_ri(Alu::Sub, true, SCRATCH_A, 8));
        self.deep_slot();
        for (i, r) in DEEP_SAVED.into_iter().enumerate() {
            self.e(x86::store64(Mem::at(SCRATCH_B, 8 * i as i32), r));
        }
        self.e(x86::load64(SCRATCH_A, Mem::at(Rsp, 0)));
        self.e(x86::store64(Mem::at(SCRATCH_B, 40), SCRATCH_A));
        self.e(x86::load64(SCRATCH_A, Mem::at(CTX, OFF_DEEP_STUB)));
        self.e(x86::store64(Mem::at(Rsp, 0), SCRATCH_A));
    }

    /// `SCRATCH_B` = the address of slot d - 1 of `RunCtx::deep`, from
    /// `SCRATCH_A` = 560 * d (at most 7 steps; clobbers `SCRATCH_A`).
    fn deep_slot(&mut self) {
        self.e(x86::lea(SCRATCH_B, Mem::at(CTX, OFF_DEEP)));
        let (next, found) = (self.label(), self.label());
        self.bind(next);
        self.e(x86::alu_ri(Alu::Sub, true, SCRATCH_A, super::FRAME));
        self.buf.jcc(Cc::Be, found);
        self.e(x86::alu_ri(Alu::Add, true, SCRATCH_B, 48));
        self.buf.jmp(next);
        self.bind(found);
    }

    /// Where a target that replaced a callee returns (see
    /// `deep_tail_call`): `rsp` is back at the callee's depth d, so the
    /// slot is found the same way; the caller's registers come back and
    /// the caller goes on with the target's r0.
    pub(super) fn deep_return_stub(&mut self) {
        let stub = self.deep_return;
        self.bind(stub);
        self.e(x86::load64(SCRATCH_A, Mem::at(CTX, OFF_EXIT_RSP)));
        self.e(x86::alu_rr(Alu::Sub, true, SCRATCH_A, Rsp));
        self.deep_slot();
        for (i, r) in DEEP_SAVED.into_iter().enumerate() {
            self.e(x86::load64(r, Mem::at(SCRATCH_B, 8 * i as i32)));
        }
        self.e(x86::load64(SCRATCH_A, Mem::at(SCRATCH_B, 40)));
        self.e(x86::jmp_r(SCRATCH_A));
    }

    /// The `callx` tables, after everything else: function entries as
    /// 32-bit offsets from the table (0 for slots that begin no function),
    /// then helper addresses.
    pub(super) fn tables(&mut self) {
        if !self.an.has_callx {
            return;
        }
        let table = self.callx_table;
        self.bind(table);
        for slot in 0..self.an.slots {
            let f = self.func_label(slot);
            self.buf.table_entry(table, f);
        }
        let helpers = self.helper_table;
        self.bind(helpers);
        if let Some(t) = &self.an.callx_helpers {
            for f in t {
                self.buf.data64(f.map_or(0, |f| f as usize as u64));
            }
        }
    }
}
