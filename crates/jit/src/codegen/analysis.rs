//! What the code generator must know before it emits anything: where every
//! instruction starts, which slots begin functions, which callee-saved
//! registers a frame must save, the resolved value of every `lddw` and the
//! function of every helper call. The static checks are the interpreter's
//! ([`vm::PrepareError`]), so both engines refuse the same programs with
//! the same error.

use super::regs::bpf;
use crate::x86::Gpr;
use isa::{AtomicOp, CallTarget, Insn, LoadImm, Operand, Reg};
use uapi::helpers::id;
use uapi::HelperId;
use vm::{HelperFn, PrepareError, PrepareOptions};

/// A resolved call target.
#[derive(Clone, Copy)]
pub(crate) enum Callee {
    Helper {
        id: u32,
        f: HelperFn,
    },
    TailCall,
    /// `bpf_loop` and `bpf_for_each_map_elem`, which call back into the
    /// program (through a runtime shim and the program's callback stub).
    Loop,
    ForEachMapElem,
    /// A bpf-to-bpf call to the function starting at this slot.
    Local(usize),
    /// `bpf_map_lookup_elem` on an array map known at compile time,
    /// emitted inline (see [`super::inline`]).
    ArrayLookup(super::inline::ArrayInline),
    /// `bpf_map_lookup_elem` on a hash or LPM map known at compile time:
    /// a direct call of `vm::helpers::maps::map_lookup_elem_known`.
    KnownLookup,
}

/// The program, checked and resolved.
pub(crate) struct Analysis {
    /// `(slot, instruction)` in order.
    pub insns: Vec<(usize, Insn)>,
    /// Number of 8-byte slots.
    pub slots: usize,
    /// `entries[slot]`: a function starts here (slot 0, targets of local
    /// calls and of `BPF_PSEUDO_FUNC` `lddw`s).
    pub entries: Vec<bool>,
    /// Per instruction (same index as `insns`): the `lddw` value or the
    /// resolved callee.
    pub lddw: Vec<u64>,
    pub callees: Vec<Option<Callee>>,
    /// Callee-saved registers every function pushes (see
    /// [`Analysis::saved`]).
    pub saved: Vec<Gpr>,
    /// Some function reads or writes `r10`: frames set up `rbp`.
    pub uses_fp: bool,
    /// Host callee-saved registers the entry trampoline saves (and, for
    /// BPF registers, zeroes): all of them when the program tail-calls
    /// (its targets may use any), else `r12` and those the program names.
    pub host_saved: Vec<Gpr>,
    /// `callx`, or a callback helper: both decode subprogram addresses
    /// through the table of function entries.
    pub has_callx: bool,
    /// Some call is to `bpf_loop` or `bpf_for_each_map_elem`: the program
    /// gets a callback stub.
    pub has_callbacks: bool,
    pub has_packet: bool,
    /// One function, no helper or tail calls, no `callx`, no legacy packet
    /// loads: nothing can stop the run early or needs the run context, so
    /// the entry is the function itself (see `Gen::simple_entry`).
    pub simple: bool,
    /// `targets[slot]`: some jump lands here (peepholes must not merge an
    /// instruction with the one before it).
    pub targets: Vec<bool>,
    /// The helper table for `callx` by helper number, when enabled.
    pub callx_helpers: Option<Vec<Option<HelperFn>>>,
    /// Per instruction: the BPF registers live after it (see
    /// [`super::liveness`]).
    pub live_out: Vec<super::liveness::Regs>,
    /// The BPF registers live at entry (the entry zeroes only those).
    pub live_entry: super::liveness::Regs,
    /// Cursor advances moved before their bounds check (see
    /// [`super::cursor`]), per instruction.
    pub cursor: Vec<super::cursor::Cursor>,
    /// Per instruction (same index as `insns`): the registers the frame of
    /// the function it belongs to saves (an index into `frame_saves`).
    pub func_of: Vec<usize>,
    /// The save sets of [`Analysis::func_of`]: each function's own (see
    /// [`per_function_saves`]) or, where functions are not cleanly
    /// separated, one set: `saved`.
    pub frame_saves: Vec<Vec<Gpr>>,
    /// Maps whose memory inlined lookups address: the compiled program
    /// holds them.
    pub maps: Vec<std::sync::Arc<maps::Map>>,
}

impl Analysis {
    /// Whether `slot` begins a function.
    pub fn is_entry(&self, slot: usize) -> bool {
        self.entries.get(slot).copied().unwrap_or(false)
    }

    /// Whether the program has more than one function (or may call one
    /// indirectly).
    pub fn multi_function(&self) -> bool {
        self.has_callx || self.entries.iter().skip(1).any(|&e| e)
    }

    /// Whether BPF register `r` may be read after instruction `i`.
    pub fn live_after(&self, i: usize, r: Reg) -> bool {
        self.live_out.get(i).is_none_or(|m| m & (1 << r.n()) != 0)
    }

    /// Whether BPF register `r` may be read before it is written, from the
    /// entry.
    pub fn live_at_entry(&self, r: Reg) -> bool {
        self.live_entry & (1 << r.n()) != 0
    }
}

/// Checks and resolves `insns`.
pub(crate) fn analyze(insns: &[Insn], opts: &PrepareOptions<'_>) -> Result<Analysis, PrepareError> {
    let insns: Vec<(usize, Insn)> = insns
        .iter()
        .scan(0usize, |pc, &insn| {
            let at = *pc;
            *pc += insn.slots();
            Some((at, insn))
        })
        .collect();
    let Some(&(last_pc, last)) = insns.last() else {
        return Err(PrepareError::Empty);
    };
    let slots = last_pc + last.slots();
    if slots > uapi::MAX_INSNS {
        return Err(PrepareError::TooLarge {
            len: slots,
            max: uapi::MAX_INSNS,
        });
    }
    let mut starts = vec![false; slots];
    for &(pc, _) in &insns {
        starts[pc] = true;
    }
    let mut entries = vec![false; slots];
    entries[0] = true;
    let mut lddw = vec![0u64; insns.len()];
    let mut callees = vec![None; insns.len()];
    for (i, &(pc, insn)) in insns.iter().enumerate() {
        let target = match insn.branch_target(pc) {
            Some(t) => Some(check_target(pc, t, &starts)?),
            None => None,
        };
        match insn {
            Insn::LoadImm64 { imm, .. } => lddw[i] = lddw_value(pc, imm, target, opts)?,
            Insn::Call(c) => callees[i] = Some(callee(pc, c, target, opts)?),
            _ => {}
        }
        let is_func_ref = matches!(
            insn,
            Insn::Call(CallTarget::Local { .. })
                | Insn::LoadImm64 {
                    imm: LoadImm::Func { .. },
                    ..
                }
        );
        if let (true, Some(t)) = (is_func_ref, target) {
            entries[t] = true;
        }
    }
    if !last.is_terminator() {
        return Err(PrepareError::FallsOffEnd { pc: last_pc });
    }
    let uses_fp = insns.iter().any(|(_, i)| mentions(i, Reg::R10));
    let has_callbacks = callees
        .iter()
        .any(|c| matches!(c, Some(Callee::Loop | Callee::ForEachMapElem)));
    let has_callx = has_callbacks || insns.iter().any(|(_, i)| matches!(i, Insn::CallX { .. }));
    let mut an = Analysis {
        slots,
        entries,
        lddw,
        simple: false,
        targets: Vec::new(),
        has_packet: insns
            .iter()
            .any(|(_, i)| matches!(i, Insn::LoadPacket { .. })),
        callees,
        insns,
        saved: Vec::new(),
        host_saved: Vec::new(),
        uses_fp,
        has_callx,
        has_callbacks,
        callx_helpers: None,
        live_out: Vec::new(),
        live_entry: 0,
        cursor: Vec::new(),
        func_of: Vec::new(),
        frame_saves: Vec::new(),
        maps: Vec::new(),
    };
    if has_callx && opts.callx_helper_ids {
        let max = opts.helpers.ids().map(|h| h.0).max();
        an.callx_helpers = Some(match max {
            Some(m) => (0..=m).map(|n| opts.helpers.get(n)).collect(),
            None => Vec::new(),
        });
    }
    an.saved = saved_regs(&an);
    an.host_saved = host_saved(&an);
    an.simple = !an.multi_function() && !an.has_packet && an.callees.iter().all(Option::is_none);
    if an.simple {
        an.host_saved.retain(|&r| r != Gpr::R12);
        an.saved = an.host_saved.clone();
    }
    let multi = an.multi_function();
    an.live_out = super::liveness::live_out(&an.insns, an.slots, multi);
    an.live_entry = super::liveness::live_in_at_entry(&an.insns, &an.live_out, multi);
    an.targets = vec![false; an.slots];
    for &(pc, insn) in &an.insns {
        if let (Insn::Ja { .. } | Insn::Jump { .. }, Some(t)) = (insn, insn.branch_target(pc)) {
            an.targets[t as usize] = true;
        }
    }
    an.cursor = super::cursor::plan(&an.insns, &an.targets, &an.entries, &an.live_out, multi);
    (an.func_of, an.frame_saves) = per_function_saves(&an);
    an.maps = super::inline::inline_lookups(&mut an, opts);
    Ok(an)
}

/// The registers each frame saves. A single function is entered only from
/// the entry trampoline, which saves every callee-saved register of the
/// host ABI itself, so it saves nothing. With several functions every
/// frame saves the union of the BPF callee-saved registers (r6–r9, and
/// `rbp` for r10) that any of them writes: all frames then look alike,
/// which keeps call depth a function of `rsp` and lets a function's code
/// jump anywhere another function's could (the interpreter allows it).
fn saved_regs(an: &Analysis) -> Vec<Gpr> {
    if !an.multi_function() {
        return Vec::new();
    }
    let mut saved = Vec::new();
    for r in [Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
        if an.insns.iter().any(|(_, i)| writes(i, r)) {
            saved.push(bpf(r));
        }
    }
    if an.uses_fp {
        saved.push(bpf(Reg::R10));
    }
    saved
}

/// Which registers each function's frame saves. Where functions are
/// cleanly separated — no jump from one into another, no code falling into
/// the next function, no `callx` or callbacks — each saves only the BPF
/// callee-saved registers it writes itself (and `rbp` if it uses `r10`), as
/// Linux's JIT does: fewer pushes and pops per call. Its frame stays
/// [`super::FRAME`] bytes (the reserve grows by what it does not push), so
/// call depth remains a function of `rsp`. Otherwise every function saves
/// the union (`saved`), so that any function's code may run in any frame.
fn per_function_saves(an: &Analysis) -> (Vec<usize>, Vec<Vec<Gpr>>) {
    let n = an.insns.len();
    let whole = || (vec![0; n], vec![an.saved.clone()]);
    if !an.multi_function() || an.has_callx || an.simple {
        return whole();
    }
    // Function index of every instruction, by slot order.
    let mut func_of = Vec::with_capacity(n);
    let mut f = 0usize;
    for (i, &(pc, _)) in an.insns.iter().enumerate() {
        if i > 0 && an.is_entry(pc) {
            if !an.insns[i - 1].1.is_terminator() {
                return whole(); // falls into the next function
            }
            f += 1;
        }
        func_of.push(f);
    }
    let func_at = |slot: usize| {
        an.insns
            .binary_search_by_key(&slot, |&(pc, _)| pc)
            .ok()
            .map(|i| func_of[i])
    };
    for (i, &(pc, insn)) in an.insns.iter().enumerate() {
        if matches!(insn, Insn::Call(_)) {
            continue; // local calls enter through the prologue
        }
        if let Some(t) = insn.branch_target(pc) {
            if t < 0 || func_at(t as usize) != Some(func_of[i]) {
                return whole();
            }
        }
    }
    let mut sets = vec![Vec::new(); f + 1];
    for (fi, set) in sets.iter_mut().enumerate() {
        let body = || {
            an.insns
                .iter()
                .zip(&func_of)
                .filter(move |(_, &g)| g == fi)
                .map(|(&(_, insn), _)| insn)
        };
        for r in [Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
            if body().any(|i| writes(&i, r)) {
                set.push(bpf(r));
            }
        }
        if body().any(|i| mentions(&i, Reg::R10)) {
            set.push(bpf(Reg::R10));
        }
    }
    (func_of, sets)
}

fn host_saved(an: &Analysis) -> Vec<Gpr> {
    let tail_calls = an
        .callees
        .iter()
        .any(|c| matches!(c, Some(Callee::TailCall)));
    [Reg::R6, Reg::R10, Reg::R7, Reg::R8, Reg::R9]
        .into_iter()
        .filter(|&r| tail_calls || an.insns.iter().any(|(_, i)| mentions(i, r)))
        .map(bpf)
        .chain(std::iter::once(Gpr::R12))
        .collect()
}

fn check_target(pc: usize, t: i64, starts: &[bool]) -> Result<usize, PrepareError> {
    if t < 0 || t >= starts.len() as i64 {
        return Err(PrepareError::JumpOutOfRange { pc, target: t });
    }
    if !starts[t as usize] {
        return Err(PrepareError::JumpIntoLddw {
            pc,
            target: t as usize,
        });
    }
    Ok(t as usize)
}

fn lddw_value(
    pc: usize,
    imm: LoadImm,
    target: Option<usize>,
    opts: &PrepareOptions<'_>,
) -> Result<u64, PrepareError> {
    match (imm, target) {
        (LoadImm::Imm(v), _) => Ok(v),
        // The interpreter's value for a function, so that a program sees
        // the same number in both engines (see `vm::subprog_addr`).
        (LoadImm::Func { .. }, Some(t)) => Ok(vm::subprog_addr(t as u32)),
        _ => match opts.resolver {
            None => Err(PrepareError::Unresolved {
                pc,
                imm,
                source: None,
            }),
            Some(r) => r.resolve(pc, imm).map_err(|e| PrepareError::Unresolved {
                pc,
                imm,
                source: Some(e),
            }),
        },
    }
}

fn callee(
    pc: usize,
    c: CallTarget,
    target: Option<usize>,
    opts: &PrepareOptions<'_>,
) -> Result<Callee, PrepareError> {
    match (c, target) {
        (CallTarget::Helper(n), _) if n as u32 == id::TAIL_CALL => Ok(Callee::TailCall),
        (CallTarget::Helper(n), _) if n as u32 == id::LOOP => Ok(Callee::Loop),
        (CallTarget::Helper(n), _) if n as u32 == id::FOR_EACH_MAP_ELEM => {
            Ok(Callee::ForEachMapElem)
        }
        (CallTarget::Helper(n), _) => match opts.helpers.get(n as u32) {
            Some(f) => Ok(Callee::Helper { id: n as u32, f }),
            None => Err(PrepareError::UnknownHelper {
                pc,
                helper: HelperId(n as u32),
            }),
        },
        (CallTarget::Local { .. }, Some(t)) => Ok(Callee::Local(t)),
        _ => Err(PrepareError::Unsupported {
            pc,
            what: "kfunc call",
        }),
    }
}

/// Whether `insn` names register `r` at all.
fn mentions(insn: &Insn, r: Reg) -> bool {
    let op = |o: &Operand| matches!(o, Operand::Reg(x) if *x == r);
    match *insn {
        Insn::Alu { dst, ref src, .. } => dst == r || op(src),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::LoadImm64 { dst, .. } => dst == r,
        Insn::MovSx { dst, src, .. } | Insn::Load { dst, src, .. } => dst == r || src == r,
        Insn::Store { dst, ref src, .. } => dst == r || op(src),
        Insn::Atomic { dst, src, .. } => dst == r || src == r,
        Insn::Jump { dst, ref src, .. } => dst == r || op(src),
        Insn::LoadPacket { mode, .. } => matches!(mode, isa::PacketMode::Ind(x) if x == r),
        Insn::CallX { reg, .. } => reg == r,
        Insn::Ja { .. } | Insn::Call(_) | Insn::Exit => false,
    }
}

/// Whether `insn` writes register `r` (callee-saved registers only matter
/// here: calls clobber r0–r5 by definition).
fn writes(insn: &Insn, r: Reg) -> bool {
    match *insn {
        Insn::Alu { dst, .. }
        | Insn::Neg { dst, .. }
        | Insn::Endian { dst, .. }
        | Insn::LoadImm64 { dst, .. }
        | Insn::MovSx { dst, .. }
        | Insn::Load { dst, .. } => dst == r,
        Insn::Atomic { op, src, .. } => match op {
            AtomicOp::Cmpxchg => r == Reg::R0,
            _ => op.fetches() && src == r,
        },
        Insn::LoadPacket { .. } => r == Reg::R0,
        _ => false,
    }
}
