//! The static passes that run before path exploration: decoding, subprogram
//! boundaries, control-flow checks, prune points and register liveness.
//!
//! Everything here looks at the instructions only. The checks and their
//! messages are the kernel's `check_subprogs` and `check_cfg`: every jump
//! stays inside its subprogram (`jump out of range from insn A to B`), every
//! subprogram ends in `exit` or `goto`, every instruction is reachable
//! (`unreachable insn N`). Back-edges are allowed: bounded loops are proven
//! by exploration, as in kernels since 5.3 for privileged loaders.

use crate::error::Fail;
use isa::{CallTarget, Insn, LoadImm, RawInsn, Reg};

/// A subprogram: the slots `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subprog {
    pub start: usize,
    pub end: usize,
}

/// The decoded program and what the static passes learnt.
#[derive(Debug, Clone)]
pub struct Program {
    /// One entry per slot; `None` for the second slot of `lddw`.
    pub insns: Vec<Option<Insn>>,
    pub subprogs: Vec<Subprog>,
    /// Where states are compared and saved (`is_prune_point`).
    pub prune: Vec<bool>,
    /// Jumps with a backward edge: a state is always saved there, so that
    /// a loop that makes no progress is caught (`is_force_checkpoint`).
    pub force_ckpt: Vec<bool>,
    /// Registers (bit `i` = `ri`) that may be read before being written on
    /// some path from each slot, within its subprogram.
    pub live_in: Vec<u16>,
}

impl Program {
    /// The subprogram containing slot `pc`.
    pub fn subprog_of(&self, pc: usize) -> usize {
        match self.subprogs.binary_search_by(|s| s.start.cmp(&pc)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The subprogram starting at `pc`.
    pub fn subprog_at(&self, pc: usize) -> Option<usize> {
        self.subprogs.iter().position(|s| s.start == pc)
    }
}

/// Decode, then run every static check.
pub fn analyze(raw: &[RawInsn]) -> Result<Program, Fail> {
    if raw.is_empty() {
        return Err(Fail::new(crate::error::EINVAL, "empty program".into()));
    }
    let insns = decode(raw)?;
    let subprogs = find_subprogs(&insns)?;
    let mut prog = Program {
        prune: vec![false; insns.len()],
        force_ckpt: vec![false; insns.len()],
        live_in: vec![0; insns.len()],
        insns,
        subprogs,
    };
    check_jumps(&prog)?;
    check_reachable(&mut prog)?;
    prog.live_in = liveness(&prog);
    Ok(prog)
}

fn decode(raw: &[RawInsn]) -> Result<Vec<Option<Insn>>, Fail> {
    let mut out = vec![None; raw.len()];
    let mut pc = 0;
    while pc < raw.len() {
        let insn = Insn::decode(raw, pc).map_err(|e| {
            let msg = e.to_string();
            let msg = msg
                .strip_prefix(&format!("insn {}: ", e.pc))
                .unwrap_or(&msg)
                .to_string();
            Fail::new(crate::error::EINVAL, msg)
        })?;
        out[pc] = Some(insn);
        pc += insn.slots();
    }
    Ok(out)
}

/// Subprogram entries: slot 0 and the targets of local calls and of
/// function-address `lddw`s.
fn find_subprogs(insns: &[Option<Insn>]) -> Result<Vec<Subprog>, Fail> {
    let n = insns.len();
    let mut starts = vec![0usize];
    for (pc, insn) in insns.iter().enumerate() {
        let Some(insn) = insn else { continue };
        let is_entry = matches!(
            insn,
            Insn::Call(CallTarget::Local { .. })
                | Insn::LoadImm64 {
                    imm: LoadImm::Func { .. },
                    ..
                }
        );
        if !is_entry {
            continue;
        }
        let t = insn.branch_target(pc).unwrap_or(-1);
        if t < 0 || t >= n as i64 || insns[t as usize].is_none() {
            return Err(Fail::new(
                crate::error::EINVAL,
                "call to invalid destination".into(),
            ));
        }
        starts.push(t as usize);
    }
    starts.sort_unstable();
    starts.dedup();
    let mut subs = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(n);
        subs.push(Subprog { start: s, end });
    }
    Ok(subs)
}

/// Jumps stay inside their subprogram and land on an instruction; each
/// subprogram ends in `exit` or `goto`.
fn check_jumps(prog: &Program) -> Result<(), Fail> {
    for sub in &prog.subprogs {
        for pc in sub.start..sub.end {
            let Some(insn) = &prog.insns[pc] else {
                continue;
            };
            if matches!(insn, Insn::Ja { .. } | Insn::Jump { .. }) {
                let t = insn.branch_target(pc).unwrap_or(-1);
                if t < sub.start as i64 || t >= sub.end as i64 {
                    return Err(Fail::new(
                        crate::error::EINVAL,
                        format!("jump out of range from insn {pc} to {t}"),
                    ));
                }
                if prog.insns[t as usize].is_none() {
                    return Err(Fail::new(
                        crate::error::EINVAL,
                        format!("jump into the middle of ldimm64 insn {}", t - 1),
                    ));
                }
            }
        }
        let last = (sub.start..sub.end).rev().find_map(|pc| prog.insns[pc]);
        if !matches!(last, Some(Insn::Exit | Insn::Ja { .. })) {
            return Err(Fail::new(
                crate::error::EINVAL,
                "last insn is not an exit or jmp".into(),
            ));
        }
    }
    Ok(())
}

/// Successors of `pc` inside its function (calls fall through to the next
/// instruction; the callee is a separate entry).
fn successors(insn: &Insn, pc: usize) -> Vec<usize> {
    let next = pc + insn.slots();
    match insn {
        Insn::Exit => vec![],
        Insn::Ja { .. } => vec![insn.branch_target(pc).unwrap_or(0) as usize],
        Insn::Jump { .. } => vec![next, insn.branch_target(pc).unwrap_or(0) as usize],
        _ => vec![next],
    }
}

/// Depth-first walk from slot 0 following calls and function addresses;
/// marks prune points on the way (conditional jumps, their targets, `goto`
/// targets, the return sites of local calls).
fn check_reachable(prog: &mut Program) -> Result<(), Fail> {
    let n = prog.insns.len();
    let mut seen = vec![false; n];
    let mut work = vec![0usize];
    seen[0] = true;
    while let Some(pc) = work.pop() {
        let Some(insn) = prog.insns[pc] else { continue };
        let mut targets = successors(&insn, pc);
        match insn {
            Insn::Jump { .. } => {
                prog.prune[pc] = true;
                if targets[1] <= pc {
                    prog.force_ckpt[pc] = true;
                }
                for &t in &targets {
                    prog.prune[t] = true;
                }
            }
            Insn::Ja { .. } => prog.prune[targets[0]] = true,
            Insn::Call(CallTarget::Local { .. }) => {
                targets.push(insn.branch_target(pc).unwrap_or(0) as usize);
                if pc + 1 < n {
                    prog.prune[pc + 1] = true;
                }
            }
            Insn::Call(CallTarget::Helper(h))
                if matches!(
                    h as u32,
                    uapi::helpers::id::LOOP | uapi::helpers::id::FOR_EACH_MAP_ELEM
                ) =>
            {
                prog.prune[pc] = true;
            }
            Insn::CallX { .. } if pc + 1 < n => prog.prune[pc + 1] = true,
            Insn::LoadImm64 {
                imm: LoadImm::Func { .. },
                ..
            } => targets.push(insn.branch_target(pc).unwrap_or(0) as usize),
            _ => {}
        }
        for t in targets {
            if t < n && !seen[t] {
                seen[t] = true;
                work.push(t);
            }
        }
    }
    for (pc, seen) in seen.iter().enumerate() {
        if prog.insns[pc].is_some() && !seen {
            return Err(Fail::new(
                crate::error::EINVAL,
                format!("unreachable insn {pc}"),
            ));
        }
    }
    Ok(())
}

/// (uses, defs) register masks of one instruction.
fn use_def(insn: &Insn) -> (u16, u16) {
    let bit = |r: Reg| 1u16 << r.idx();
    let op = |o: &isa::Operand| match o {
        isa::Operand::Reg(r) => bit(*r),
        isa::Operand::Imm(_) => 0,
    };
    const ARGS: u16 = 0b11_1110;
    const CALLER_SAVED: u16 = 0b11_1111;
    match insn {
        Insn::Alu {
            op: isa::AluOp::Mov,
            dst,
            src,
            ..
        } => (op(src), bit(*dst)),
        Insn::Alu { dst, src, .. } => (bit(*dst) | op(src), bit(*dst)),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(*dst), bit(*dst)),
        Insn::MovSx { dst, src, .. } => (bit(*src), bit(*dst)),
        Insn::LoadImm64 { dst, .. } => (0, bit(*dst)),
        Insn::LoadPacket { mode, .. } => {
            let u = bit(Reg::R6)
                | match mode {
                    isa::PacketMode::Ind(r) => bit(*r),
                    isa::PacketMode::Abs => 0,
                };
            (u, CALLER_SAVED)
        }
        Insn::Load { dst, src, .. } => (bit(*src), bit(*dst)),
        Insn::Store { dst, src, .. } => (bit(*dst) | op(src), 0),
        Insn::Atomic {
            op: aop, dst, src, ..
        } => {
            let mut u = bit(*dst) | bit(*src);
            let mut d = 0;
            if *aop == isa::AtomicOp::Cmpxchg {
                u |= 1;
                d = 1;
            } else if aop.fetches() {
                d = bit(*src);
            }
            (u, d)
        }
        Insn::Ja { .. } => (0, 0),
        Insn::Jump { dst, src, .. } => (bit(*dst) | op(src), 0),
        Insn::Call(isa::CallTarget::Helper(h)) => {
            // A helper reads only its declared arguments.
            let n = uapi::proto::proto(*h as u32).map_or(5, |p| {
                p.args
                    .iter()
                    .take_while(|a| **a != uapi::proto::ArgType::None)
                    .count()
            });
            (((1u16 << n) - 1) << 1, CALLER_SAVED)
        }
        Insn::Call(_) => (ARGS, CALLER_SAVED),
        Insn::CallX { reg, .. } => (ARGS | bit(*reg), CALLER_SAVED),
        Insn::Exit => (1, 0),
    }
}

/// Backward may-liveness of registers to a fixpoint.
fn liveness(prog: &Program) -> Vec<u16> {
    let n = prog.insns.len();
    let mut live = vec![0u16; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..n).rev() {
            let Some(insn) = &prog.insns[pc] else {
                continue;
            };
            let mut out = 0u16;
            for s in successors(insn, pc) {
                if s < n {
                    out |= live[s];
                }
            }
            let (u, d) = use_def(insn);
            // r10 is always live: it never changes and costs nothing.
            let inn = u | (out & !d) | (1 << 10);
            if inn != live[pc] {
                live[pc] = inn;
                changed = true;
            }
        }
    }
    live
}

impl Program {
    /// The kernel's level-2 preamble: one `func#N @START` line per
    /// subprogram, then the registers live before each instruction
    /// (`      0: 01........ (61) r2 = *(u32 *)(r1 +0)`).
    pub fn live_regs_listing(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.subprogs.iter().enumerate() {
            out.push_str(&format!("func#{i} @{}\n", s.start));
        }
        out.push_str("Live regs before insn:\n");
        for (pc, insn) in self.insns.iter().enumerate() {
            let Some(insn) = insn else { continue };
            let live: String = (0..10)
                .map(|r| {
                    if self.live_in[pc] & (1 << r) != 0 {
                        char::from(b'0' + r as u8)
                    } else {
                        '.'
                    }
                })
                .collect();
            let text = isa::disasm::kernel_text(insn, pc, &isa::disasm::DefaultKernelNames);
            out.push_str(&format!("{pc:7}: {live} {text}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Vec<RawInsn> {
        isa::asm::assemble(text, isa::asm::Syntax::Llvm).unwrap()
    }

    fn err(text: &str) -> String {
        analyze(&raw(text)).unwrap_err().msg
    }

    #[test]
    fn cfg_errors() {
        assert_eq!(err("r0 = 0\nexit\nr0 = 1\nexit"), "unreachable insn 2");
        assert_eq!(err("goto +5\nexit"), "jump out of range from insn 0 to 6");
        assert_eq!(err("r0 = 0"), "last insn is not an exit or jmp");
        assert!(analyze(&raw("l: r0 = 0\nif r0 == 0 goto l\nexit")).is_ok());
    }

    #[test]
    fn liveness_sees_reads() {
        let p = analyze(&raw("r1 = 1\nr2 = r1\nr0 = 0\nexit")).unwrap();
        assert_eq!(p.live_in[1] & 0x7ff, 0b100_0000_0010);
        assert_eq!(p.live_in[3] & 0x3ff, 1);
    }
}
