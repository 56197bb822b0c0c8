//! The code generator: one pass over the program, one short lowering
//! function per instruction class (`alu`, `divmod`, `shift`, `mem`, `jump`,
//! `call`, `packet`), each emitting encoder values into the buffer. It never
//! writes a byte itself.
//!
//! # Layout of the generated code
//!
//! ```text
//! 0:        entry trampoline (called from Rust): saves the host's callee-
//!           saved registers it needs, r12 = run context, records rsp
//!           (`exit_rsp`) and where errors unwind to (`unwind_rsp`),
//!           zeroes r0 and the r6-r9 read before written, calls function 0,
//!           restores and returns
//! unwind:   `mov rsp, [unwind_rsp]; ret` — back into the innermost call
//!           from Rust (the trampoline's, or a callback stub's), from any
//!           depth and from any program reached by tail calls
//! entry(f): function prologue (push saved registers, reserve the frame,
//!           rbp = frame pointer), then the function's instructions
//! epilogue: after the last function (its own; other functions' exits
//!           inline theirs, or jump here when all share one save set)
//! stubs:    the cold paths, out of line (division by zero, signed
//!           division by -1, 64-bit division of operands wider than 32
//!           bits, helper faults, packet loads out of the fast case, run
//!           errors), each jumping back or to `unwind`
//! cb stub:  programs calling `bpf_loop`/`bpf_for_each_map_elem`: the
//!           function the runtime shims call per callback (see
//!           `call::callback_stub`)
//! deep ret: programs with tail calls: where the target of a tail call
//!           from a bpf-to-bpf callee returns (see `call::deep_tail_call`)
//! tables:   callx targets (32-bit offsets) and helper addresses
//! ```
//!
//! # Frames
//!
//! Every function frame is exactly [`FRAME`] bytes (return address, saved
//! registers, padding, the 512-byte BPF stack; a function that saves fewer
//! registers reserves more — see `analysis::per_function_saves` for which
//! registers each function saves), so that inside any function
//! body `rsp = exit_rsp - 560 * (depth + 1)`: one compare against a value
//! the trampoline stored tells whether another bpf-to-bpf call would pass
//! `MAX_CALL_FRAMES` (the call site's check), or whether a tail call is made
//! from depth 0. Nothing inside a body pushes, except a packet-load slow
//! path that calls no BPF code.
//!
//! Callbacks run below the Rust frames of the runtime shim, so there the
//! relation to `exit_rsp` does not hold: the callback stub sets the call
//! limit for the callback's frame from the caller's headroom (one frame
//! deeper), and a tail call from a callback fails the depth-0 check, as in
//! the interpreter.

mod alu;
pub(crate) mod analysis;
mod call;
pub(crate) mod cursor;
mod divmod;
mod inline;
mod jump;
pub(crate) mod liveness;
mod mem;
mod packet;
pub(crate) mod regs;
mod shift;
mod stubs;

use crate::buffer::{BufferError, CodeBuffer, Label, Layout};
use crate::x86::{self, Alu, Enc, Gpr};
use analysis::Analysis;
use cursor::Cursor;
use isa::{AluOp, Insn, Operand, Width};
use regs::{bpf, SCRATCH_A, SCRATCH_B};
use stubs::Stub;

/// Bytes of one function frame: return address, saved registers and
/// padding ([`FRAME_SUB`] after the pushes), the BPF stack.
pub(crate) const FRAME: i32 = 560;
/// What a prologue subtracts from `rsp` after pushing `n` registers.
pub(crate) const fn frame_sub(n: usize) -> i32 {
    FRAME - 8 - 8 * n as i32
}
/// `exit_rsp - rsp` in the body of the depth-0 function (`exit_rsp` is
/// recorded just before the trampoline's call): the return address and the
/// rest of the frame.
pub(crate) const BODY0: i32 = FRAME;
/// `exit_rsp - call_limit`: a call from a body whose `rsp` is below
/// `call_limit` would create frame number `MAX_CALL_FRAMES`.
pub(crate) const CALL_LIMIT_DELTA: i32 = BODY0 + FRAME * (uapi::MAX_CALL_FRAMES as i32 - 2);

/// Code-generation choices that do not change what a program computes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GenOptions {
    /// Xor immediates with a random key (see [`crate::blind`]).
    pub blind_seed: Option<u64>,
    /// Use BMI2 `shlx`/`shrx`/`sarx` for shifts by a register.
    pub bmi2: bool,
}

/// The result of one pass.
pub(crate) struct PassOutput {
    pub code: Vec<u8>,
    pub layout: Layout,
    /// Offset of function 0 (the tail-call entry).
    pub func0: u32,
    /// The program needs no run context (see `Analysis::simple`).
    pub simple: bool,
    /// Offset of the code of every slot (`u32::MAX` for the second slot of
    /// an `lddw`).
    pub slot_offsets: Vec<u32>,
}

/// State of one pass.
pub(crate) struct Gen<'a, 'p> {
    pub buf: CodeBuffer<'p>,
    pub an: &'a Analysis,
    pub opts: GenOptions,
    /// Label of every slot's code.
    slot_labels: Vec<Label>,
    /// Label of every function's prologue (same index as slots).
    func_labels: Vec<Option<Label>>,
    pub epilogue: Label,
    pub unwind: Label,
    pub callx_table: Label,
    pub helper_table: Label,
    /// Shared packet-miss exit (`r0 = 0`, unwind).
    pub packet_miss: Label,
    /// The callback stub (programs with callback helpers).
    pub cb_stub: Label,
    /// Where targets of tail calls from callees return (programs with
    /// tail calls; see `call::deep_tail_call`).
    pub deep_return: Label,
    pub stubs: Vec<Stub>,
    /// Slot of the instruction being lowered.
    pub pc: usize,
    /// Its index in `an.insns`.
    pub cur: usize,
    /// The save set of the function being lowered (index into
    /// `an.frame_saves`).
    frame: usize,
    blinder: Option<crate::blind::Blinder>,
}

impl<'a, 'p> Gen<'a, 'p> {
    /// Appends one instruction.
    pub fn e(&mut self, enc: Enc) {
        self.buf.emit(enc);
    }

    /// The label of slot `slot`'s code.
    pub fn slot_label(&self, slot: usize) -> Label {
        self.slot_labels[slot]
    }

    /// The label of the function starting at `slot`.
    pub fn func_label(&self, slot: usize) -> Option<Label> {
        self.func_labels.get(slot).copied().flatten()
    }

    /// A new label.
    pub fn label(&mut self) -> Label {
        self.buf.new_label()
    }

    /// Frame bytes below the pushes: the uniform frame, or in a simple
    /// program (which calls nothing) just the BPF stack if it uses one.
    pub fn frame_sub(&self) -> i32 {
        match (self.an.simple, self.an.uses_fp) {
            (false, _) => frame_sub(self.saved().len()),
            (true, true) => uapi::MAX_BPF_STACK as i32,
            (true, false) => 0,
        }
    }

    /// The registers the current function's frame saves.
    pub fn saved(&self) -> &'a [Gpr] {
        let an: &'a Analysis = self.an;
        &an.frame_saves[self.frame]
    }

    /// Whether every function saves its own registers (else all save the
    /// same ones and may share one epilogue).
    pub fn per_function_saves(&self) -> bool {
        self.an.frame_saves.len() > 1
    }

    /// Whether the BPF register in machine register `reg` may be read
    /// after the current instruction (machine registers that hold no BPF
    /// register count as live).
    pub fn live_after(&self, reg: Gpr) -> bool {
        match regs::bpf_of(reg) {
            Some(r) => self.an.live_after(self.cur, r),
            None => true,
        }
    }

    /// Whether immediates are blinded.
    pub fn blinding(&self) -> bool {
        self.blinder.is_some()
    }

    /// `reg = value` with the value blinded when blinding is on.
    pub fn load_imm(&mut self, reg: Gpr, value: u64) {
        match self.blinder.as_mut().map(|b| b.next_key()) {
            None => self.e(x86::mov_imm64(reg, value)),
            Some(key) => {
                let tmp = if reg == SCRATCH_B {
                    SCRATCH_A
                } else {
                    SCRATCH_B
                };
                self.e(x86::mov_r64_i64(reg, value ^ key));
                self.e(x86::mov_r64_i64(tmp, key));
                self.e(x86::alu_rr(Alu::Xor, true, reg, tmp));
            }
        }
    }

    /// The second operand of an ALU, jump or store: the register, or the
    /// immediate — or, when blinding, the immediate materialised (blinded)
    /// in [`SCRATCH_B`], sign-extended as a 64-bit operation sees it. Call
    /// it before putting anything in [`SCRATCH_A`], which un-blinding
    /// borrows.
    pub fn operand(&mut self, src: Operand) -> Src {
        match src {
            Operand::Reg(r) => Src::Reg(bpf(r)),
            Operand::Imm(i) if self.blinding() => {
                self.load_imm(SCRATCH_B, i as i64 as u64);
                Src::Reg(SCRATCH_B)
            }
            Operand::Imm(i) => Src::Imm(i),
        }
    }
}

/// A lowered second operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Src {
    Reg(Gpr),
    Imm(i32),
}

/// Runs one pass over the program.
pub(crate) fn pass(
    an: &Analysis,
    opts: GenOptions,
    prev: Option<&Layout>,
    freeze: bool,
    base: Option<u64>,
) -> Result<PassOutput, BufferError> {
    let mut buf = CodeBuffer::new(prev, base, an.slots * 8 + 256);
    buf.set_freeze(freeze);
    let slot_labels = (0..an.slots).map(|_| buf.new_label()).collect();
    let func_labels = (0..an.slots)
        .map(|s| an.is_entry(s).then(|| buf.new_label()))
        .collect();
    let epilogue = buf.new_label();
    let unwind = buf.new_label();
    let callx_table = buf.new_label();
    let helper_table = buf.new_label();
    let packet_miss = buf.new_label();
    let cb_stub = buf.new_label();
    let deep_return = buf.new_label();
    let mut g = Gen {
        buf,
        an,
        opts,
        slot_labels,
        func_labels,
        epilogue,
        unwind,
        callx_table,
        helper_table,
        packet_miss,
        cb_stub,
        deep_return,
        stubs: Vec::new(),
        pc: 0,
        cur: 0,
        frame: 0,
        blinder: opts.blind_seed.map(crate::blind::Blinder::new),
    };
    if an.simple {
        g.simple_entry();
    } else {
        g.trampoline();
    }
    g.body();
    g.bind(g.epilogue);
    g.epilogue_code();
    g.emit_stubs();
    if an.has_callbacks {
        g.callback_stub();
    }
    if an
        .callees
        .iter()
        .any(|c| matches!(c, Some(analysis::Callee::TailCall)))
    {
        g.deep_return_stub();
    }
    g.tables();
    let slot_offsets_labels: Vec<Label> = g.slot_labels.clone();
    let func0 = g.func_labels[0].expect("slot 0 is an entry");
    let (code, layout) = g.buf.finish()?;
    let slot_offsets = an
        .insns
        .iter()
        .fold(vec![u32::MAX; an.slots], |mut v, &(pc, _)| {
            v[pc] = layout.offset(slot_offsets_labels[pc]).unwrap_or(u32::MAX);
            v
        });
    // A simple program's entry is an ordinary function that needs no run
    // context: tail calls enter it at its start.
    let func0 = if an.simple {
        0
    } else {
        layout.offset(func0).unwrap_or(0)
    };
    Ok(PassOutput {
        simple: an.simple,
        func0,
        code,
        layout,
        slot_offsets,
    })
}

impl Gen<'_, '_> {
    pub fn bind(&mut self, l: Label) {
        self.buf.bind(l);
    }

    /// Every instruction in order, with a prologue before each function.
    fn body(&mut self) {
        let an = self.an;
        let mut fused = false;
        for (i, &(pc, insn)) in an.insns.iter().enumerate() {
            if fused {
                // Lowered with the instruction before it.
                fused = false;
                let l = self.slot_label(pc);
                self.bind(l);
                continue;
            }
            if an.simple && pc == 0 {
                self.pc = pc;
                let l = self.slot_label(pc);
                self.bind(l);
                fused = self.lower_pair(i, insn);
                continue;
            }
            self.frame = an.func_of.get(i).copied().unwrap_or(0);
            if let Some(f) = self.func_label(pc) {
                if i > 0 && !an.insns[i - 1].1.is_terminator() {
                    // Code falling into the next function continues in the
                    // same frame, as the interpreter does: skip the prologue.
                    let l = self.slot_label(pc);
                    self.buf.jmp(l);
                }
                self.bind(f);
                self.prologue();
            }
            self.pc = pc;
            let l = self.slot_label(pc);
            self.bind(l);
            fused = self.lower_pair(i, insn);
        }
    }

    /// Lowers instruction `i`, or it and the next one together when a
    /// peephole applies (returns `true` then): `dst = src; dst += imm`, the
    /// way compilers add an offset to a copy, becomes one `lea`.
    fn lower_pair(&mut self, i: usize, insn: Insn) -> bool {
        self.cur = i;
        // Immediates are not blinded on the cursor's paths: with blinding
        // every instruction is lowered as written.
        if !self.blinding() {
            match self.an.cursor[i] {
                Cursor::None => {}
                Cursor::Advance { base, k } => {
                    // `rX = rY; rX += k` as `rY += k` (see `cursor`).
                    self.e(x86::alu_ri(Alu::Add, true, bpf(base), k));
                    return true;
                }
                Cursor::Check { base, copy, k } => {
                    self.cursor_check(insn, base, copy, k);
                    return false;
                }
                Cursor::Shifted { k } => {
                    let moved = cursor::shifted(&insn, k).expect("planned");
                    self.lower(i, moved);
                    return false;
                }
                Cursor::Done => return false,
            }
        }
        let next = self.an.insns.get(i + 1).copied();
        if let (
            Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst,
                src: Operand::Reg(src),
            },
            Some((
                npc,
                Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Add,
                    dst: d2,
                    src: Operand::Imm(k),
                },
            )),
        ) = (insn, next)
        {
            if d2 == dst && dst != src && !self.an.targets[npc] && !self.blinding() {
                self.e(x86::lea(bpf(dst), x86::Mem::at(bpf(src), k)));
                return true;
            }
        }
        self.lower(i, insn);
        false
    }

    /// Dispatches one instruction to its class's lowering function.
    fn lower(&mut self, i: usize, insn: Insn) {
        match insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => self.alu(width, op, bpf(dst), src),
            Insn::Neg { width, dst } => self.neg(width, bpf(dst)),
            Insn::MovSx {
                width,
                dst,
                src,
                bits,
            } => self.movsx(width, bpf(dst), bpf(src), bits),
            Insn::Endian { order, dst, bits } => self.endian(order, bpf(dst), bits),
            Insn::LoadImm64 { dst, .. } => self.lddw(bpf(dst), self.an.lddw[i]),
            Insn::LoadPacket { mode, size, imm } => self.packet_load(mode, size, imm),
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => self.load(size, signed, bpf(dst), bpf(src), off),
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => self.store(size, bpf(dst), off, src),
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => self.atomic(size, op, bpf(dst), bpf(src), off),
            Insn::Ja { .. } => self.ja(insn),
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                ..
            } => self.jump(insn, width, cond, bpf(dst), src),
            Insn::Call(_) => self.call(self.an.callees[i]),
            Insn::CallX { reg, .. } => self.callx(bpf(reg)),
            Insn::Exit => self.exit(i),
        }
    }

    /// The absolute slot a jump or call at the current pc goes to.
    pub fn target(&self, insn: &Insn) -> usize {
        insn.branch_target(self.pc).unwrap_or(0) as usize
    }

    /// The slot after the current instruction.
    pub fn next_slot(&self, insn: &Insn) -> usize {
        self.pc + insn.slots()
    }
}
