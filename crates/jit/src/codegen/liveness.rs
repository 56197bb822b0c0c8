//! Register liveness: which BPF registers may still be read after each
//! instruction. The code generator uses it to skip work whose only effect
//! is on a register no one reads again — parking `rax`/`rdx` around a
//! division, zeroing registers at entry.
//!
//! A dead register's value is unobservable: nothing reads it before it is
//! written again, on any path. So skipping the work changes no result the
//! interpreter could show — provided "reads" is conservative wherever the
//! program leaves the analysed code: every call (helpers, bpf-to-bpf,
//! `callx`, tail calls, callbacks) and legacy packet load is taken to read
//! every register, and so is `exit` when the program has several
//! functions (an unverified caller may read what its callee left in
//! r1–r5). A single function's `exit` reads r0 only.
//!
//! The analysis is the textbook backward fixpoint over the control-flow
//! graph of instructions, on 11-bit masks.

use isa::{AtomicOp, Insn, Operand, PacketMode, Reg};

/// Registers as a bit mask (bit n = rn).
pub(crate) type Regs = u16;

const ALL: Regs = (1 << 11) - 1;

const fn bit(r: Reg) -> Regs {
    1 << r.n()
}

fn op_bit(o: &Operand) -> Regs {
    match o {
        Operand::Reg(r) => bit(*r),
        Operand::Imm(_) => 0,
    }
}

/// What instruction `insn` reads and writes.
pub(crate) fn use_def(insn: &Insn, multi_function: bool) -> (Regs, Regs) {
    match *insn {
        Insn::Alu {
            op: isa::AluOp::Mov,
            dst,
            ref src,
            ..
        } => (op_bit(src), bit(dst)),
        Insn::Alu { dst, ref src, .. } => (bit(dst) | op_bit(src), bit(dst)),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(dst), bit(dst)),
        Insn::MovSx { dst, src, .. } => (bit(src), bit(dst)),
        Insn::LoadImm64 { dst, .. } => (0, bit(dst)),
        Insn::Load { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Store { dst, ref src, .. } => (bit(dst) | op_bit(src), 0),
        Insn::Atomic { op, dst, src, .. } => {
            let r0 = bit(Reg::R0);
            match op {
                AtomicOp::Cmpxchg => (bit(dst) | bit(src) | r0, r0),
                _ if op.fetches() => (bit(dst) | bit(src), bit(src)),
                _ => (bit(dst) | bit(src), 0),
            }
        }
        Insn::Jump { dst, ref src, .. } => (bit(dst) | op_bit(src), 0),
        Insn::Ja { .. } => (0, 0),
        Insn::LoadPacket { mode, .. } => {
            let ind = match mode {
                PacketMode::Ind(r) => bit(r),
                PacketMode::Abs => 0,
            };
            (ALL | ind, bit(Reg::R0))
        }
        Insn::Call(_) | Insn::CallX { .. } => (ALL, bit(Reg::R0)),
        Insn::Exit if multi_function => (ALL, 0),
        Insn::Exit => (bit(Reg::R0), 0),
    }
}

/// Per instruction (indexes of `insns`): the registers live after it.
pub(crate) fn live_out(insns: &[(usize, Insn)], slots: usize, multi_function: bool) -> Vec<Regs> {
    let n = insns.len();
    let mut index_of = vec![usize::MAX; slots];
    for (i, &(pc, _)) in insns.iter().enumerate() {
        index_of[pc] = i;
    }
    let ud: Vec<(Regs, Regs)> = insns
        .iter()
        .map(|(_, i)| use_def(i, multi_function))
        .collect();
    // Successors: the next instruction unless this one ends the flow, and
    // the branch target of jumps.
    let succ: Vec<[usize; 2]> = insns
        .iter()
        .enumerate()
        .map(|(i, &(pc, insn))| {
            let next = match insn {
                Insn::Ja { .. } | Insn::Exit => usize::MAX,
                _ if i + 1 < n => i + 1,
                _ => usize::MAX,
            };
            let target = match insn {
                Insn::Ja { .. } | Insn::Jump { .. } => insn
                    .branch_target(pc)
                    .and_then(|t| index_of.get(t as usize).copied())
                    .unwrap_or(usize::MAX),
                _ => usize::MAX,
            };
            [next, target]
        })
        .collect();
    let mut live_in = vec![0 as Regs; n];
    let mut out = vec![0 as Regs; n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let o = succ[i]
                .iter()
                .filter(|&&s| s != usize::MAX)
                .fold(0, |acc, &s| acc | live_in[s]);
            let (u, d) = ud[i];
            let li = u | (o & !d);
            if li != live_in[i] || o != out[i] {
                live_in[i] = li;
                out[i] = o;
                changed = true;
            }
        }
    }
    out
}

/// The registers live at the program's entry (read before written on some
/// path from instruction 0).
pub(crate) fn live_in_at_entry(
    insns: &[(usize, Insn)],
    out: &[Regs],
    multi_function: bool,
) -> Regs {
    match (insns.first(), out.first()) {
        (Some((_, insn)), Some(&o)) => {
            let (u, d) = use_def(insn, multi_function);
            u | (o & !d)
        }
        _ => ALL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> (Vec<Regs>, Regs) {
        let insns = isa::asm::assemble_insns(text, isa::asm::Syntax::Llvm).unwrap();
        let mut pc = 0;
        let placed: Vec<(usize, Insn)> = insns
            .iter()
            .map(|&i| {
                let at = pc;
                pc += i.slots();
                (at, i)
            })
            .collect();
        let out = live_out(&placed, pc, false);
        let entry = live_in_at_entry(&placed, &out, false);
        (out, entry)
    }

    #[test]
    fn loop_keeps_registers_alive_around_the_back_edge() {
        let (out, entry) = analyse(
            "r0 = 0
             r1 = 2
           l:
             r3 = r1
             r3 %= r1
             r0 += r3
             r1 += 1
             if r1 < 9 goto l
             exit",
        );
        // After `r3 %= r1`: r0, r1, r3 live; after `r0 += r3`, r3 is dead.
        assert_eq!(out[3], 0b1011);
        assert_eq!(out[4] & 0b1000, 0);
        assert_eq!(entry, 0);
    }

    #[test]
    fn reads_of_unwritten_registers_are_live_at_entry() {
        let (_, entry) = analyse("r0 = r7\n exit");
        assert_eq!(entry, 1 << 7);
        let (_, entry) = analyse("call 5\n exit");
        assert_eq!(entry, ALL);
    }
}
