//! Generated programs as trees of statements, and their layout into
//! instructions.
//!
//! Why a tree and not a flat instruction list: proptest shrinks whatever it
//! generated, and a shrunk flat list of jumps would point anywhere —
//! backwards, into the middle of an `lddw`, into a loop past its counter
//! set-up. A tree whose jumps are laid out afterwards stays valid under
//! every shrink: conditional branches are clamped to their block, diamonds
//! and loops are structured, and [`Body::insns`] computes every offset.

use isa::{AluOp, Insn, JmpCond, Operand, Reg, Width};

/// A condition `dst cond src` at a width (`jmp` or `jmp32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond {
    pub width: Width,
    pub cond: JmpCond,
    pub dst: Reg,
    pub src: Operand,
}

impl Cond {
    /// The conditional jump with offset `off`.
    pub fn jump(self, off: i16) -> Insn {
        Insn::Jump {
            width: self.width,
            cond: self.cond,
            dst: self.dst,
            src: self.src,
            off,
        }
    }
}

/// How a bounded loop counts: down from `count` to 0, or up from 0 to
/// `count`, at 32 or 64 bits, with one of the exit conditions that
/// compilers emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopKind {
    pub up: bool,
    pub width: Width,
    /// Index into the conditions that keep looping: down — `!= 0`,
    /// `s> 0`, `> 0`; up — `< n`, `s< n`, `!= n`.
    pub cond: u8,
}

/// One statement of a generated body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// A non-control instruction (ALU, `neg`, `movsx`, byte swap, `lddw`).
    Op(Insn),
    /// `if cond goto +skip`: forward, clamped to the end of the enclosing
    /// block, never into a loop it is not in, never into an `lddw`.
    Branch { cond: Cond, skip: u8 },
    /// `if cond goto else; then…; goto end; else: else…; end:` — the
    /// `goto` is `ja` or, with `long`, `gotol` (`BPF_JMP32 | BPF_JA`).
    IfElse {
        cond: Cond,
        then_: Vec<Stmt>,
        else_: Vec<Stmt>,
        long: bool,
    },
    /// `counter = start; head: body…; counter ±= 1; if … goto head` — a
    /// bounded loop the verifier walks iteration by iteration. The body
    /// must not write `counter`.
    Loop {
        counter: Reg,
        kind: LoopKind,
        count: u8,
        body: Vec<Stmt>,
    },
}

impl Stmt {
    /// Number of instruction slots the statement lays out to.
    pub fn slots(&self) -> usize {
        match self {
            Stmt::Op(i) => i.slots(),
            Stmt::Branch { .. } => 1,
            Stmt::IfElse { then_, else_, .. } => 2 + slots(then_) + slots(else_),
            Stmt::Loop { body, .. } => 3 + slots(body),
        }
    }
}

/// Slots of a block.
pub fn slots(stmts: &[Stmt]) -> usize {
    stmts.iter().map(Stmt::slots).sum()
}

/// Trims a block to at most `budget` slots, shrinking compound statements
/// from the inside rather than dropping them, so size limits keep
/// structure.
pub fn fit(stmts: Vec<Stmt>, budget: usize) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut left = budget;
    for s in stmts {
        let n = s.slots();
        if n <= left {
            left -= n;
            out.push(s);
            continue;
        }
        let s = match s {
            Stmt::IfElse {
                cond,
                then_,
                else_,
                long,
            } if left >= 2 => {
                let then_ = fit(then_, left - 2);
                let else_ = fit(else_, left - 2 - slots(&then_));
                Stmt::IfElse {
                    cond,
                    then_,
                    else_,
                    long,
                }
            }
            Stmt::Loop {
                counter,
                kind,
                count,
                body,
            } if left >= 3 => Stmt::Loop {
                counter,
                kind,
                count,
                body: fit(body, left - 3),
            },
            _ => break,
        };
        out.push(s);
        break;
    }
    out
}

/// A generated program body: scalar code over `r0`–`r9` that reads every
/// register it uses only after the harness initialised it, never touches
/// `r10` or memory, and ends by falling through (every jump lands at or
/// before the end). A harness wraps it with register set-up and an exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub stmts: Vec<Stmt>,
}

/// Where loops are, for clamping branches (absolute slot positions).
struct LoopSpan {
    init: usize,
    back: usize,
}

impl Body {
    /// Number of slots of the laid-out body.
    pub fn slots(&self) -> usize {
        slots(&self.stmts)
    }

    /// Lays the body out. Jumps are relative, so the body can be placed
    /// anywhere; its last jump targets land at most at `self.slots()`.
    pub fn insns(&self) -> Vec<Insn> {
        let mut loops = Vec::new();
        let mut lddw2 = Vec::new();
        scan(&self.stmts, 0, &mut loops, &mut lddw2);
        let mut out = Vec::new();
        let mut pc = 0;
        emit(&self.stmts, self.slots(), &loops, &lddw2, &mut pc, &mut out);
        out
    }
}

/// Records loop spans and the second slots of `lddw`s.
fn scan(stmts: &[Stmt], mut pc: usize, loops: &mut Vec<LoopSpan>, lddw2: &mut Vec<usize>) {
    for s in stmts {
        match s {
            Stmt::Op(i) if i.slots() == 2 => lddw2.push(pc + 1),
            Stmt::IfElse { then_, else_, .. } => {
                scan(then_, pc + 1, loops, lddw2);
                scan(else_, pc + 2 + slots(then_), loops, lddw2);
            }
            Stmt::Loop { body, .. } => {
                loops.push(LoopSpan {
                    init: pc,
                    back: pc + 2 + slots(body),
                });
                scan(body, pc + 1, loops, lddw2);
            }
            _ => {}
        }
        pc += s.slots();
    }
}

fn rel(from: usize, to: usize) -> i64 {
    to as i64 - (from as i64 + 1)
}

fn off16(from: usize, to: usize) -> i16 {
    // Bodies are far below 32 Ki slots (generators cap them at a few
    // hundred); saturating keeps a misuse a verifier error, not a panic.
    rel(from, to).clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// Where a branch at `pc` with `skip` lands inside a block ending at `end`.
fn branch_target(pc: usize, skip: u8, end: usize, loops: &[LoopSpan], lddw2: &[usize]) -> usize {
    let mut t = (pc + 1 + skip as usize).min(end);
    // Outer loops first (smaller `init`): entering a loop anywhere but at
    // its counter set-up would run it with an unknown counter.
    for l in loops {
        let contains_pc = l.init < pc && pc <= l.back;
        if !contains_pc && l.init < t && t <= l.back {
            t = l.init;
        }
    }
    if lddw2.contains(&t) {
        t += 1;
    }
    t
}

fn emit(
    stmts: &[Stmt],
    end: usize,
    loops: &[LoopSpan],
    lddw2: &[usize],
    pc: &mut usize,
    out: &mut Vec<Insn>,
) {
    for s in stmts {
        match s {
            Stmt::Op(i) => {
                out.push(*i);
                *pc += i.slots();
            }
            Stmt::Branch { cond, skip } => {
                let t = branch_target(*pc, *skip, end, loops, lddw2);
                out.push(cond.jump(off16(*pc, t)));
                *pc += 1;
            }
            Stmt::IfElse {
                cond,
                then_,
                else_,
                long,
            } => {
                let at = *pc;
                let ja_pc = at + 1 + slots(then_);
                let end_pc = ja_pc + 1 + slots(else_);
                out.push(cond.jump(off16(at, ja_pc + 1)));
                *pc += 1;
                emit(then_, ja_pc, loops, lddw2, pc, out);
                out.push(if *long {
                    Insn::Ja {
                        off: rel(ja_pc, end_pc) as i32,
                        long: true,
                    }
                } else {
                    Insn::Ja {
                        off: off16(ja_pc, end_pc) as i32,
                        long: false,
                    }
                });
                *pc += 1;
                emit(else_, end_pc, loops, lddw2, pc, out);
            }
            Stmt::Loop {
                counter,
                kind,
                count,
                body,
            } => emit_loop(*counter, *kind, *count, body, loops, lddw2, pc, out),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_loop(
    counter: Reg,
    kind: LoopKind,
    count: u8,
    body: &[Stmt],
    loops: &[LoopSpan],
    lddw2: &[usize],
    pc: &mut usize,
    out: &mut Vec<Insn>,
) {
    let n = count.max(1) as i32;
    let alu = |op, imm| Insn::Alu {
        width: kind.width,
        op,
        dst: counter,
        src: Operand::Imm(imm),
    };
    let head = *pc + 1;
    out.push(alu(AluOp::Mov, if kind.up { 0 } else { n }));
    *pc += 1;
    let step_pc = head + slots(body);
    emit(body, step_pc, loops, lddw2, pc, out);
    out.push(alu(if kind.up { AluOp::Add } else { AluOp::Sub }, 1));
    let (cond, imm) = match (kind.up, kind.cond % 3) {
        (false, 0) => (JmpCond::Ne, 0),
        (false, 1) => (JmpCond::Sgt, 0),
        (false, _) => (JmpCond::Gt, 0),
        (true, 0) => (JmpCond::Lt, n),
        (true, 1) => (JmpCond::Slt, n),
        (true, _) => (JmpCond::Ne, n),
    };
    let back = step_pc + 1;
    out.push(Insn::Jump {
        width: kind.width,
        cond,
        dst: counter,
        src: Operand::Imm(imm),
        off: off16(back, head),
    });
    *pc = back + 1;
}

/// Registers a body writes, for harnesses and tests.
pub fn written_regs(insns: &[Insn]) -> Vec<Reg> {
    let mut regs: Vec<Reg> = insns
        .iter()
        .filter_map(|i| match *i {
            Insn::Alu { dst, .. }
            | Insn::Neg { dst, .. }
            | Insn::MovSx { dst, .. }
            | Insn::Endian { dst, .. }
            | Insn::LoadImm64 { dst, .. } => Some(dst),
            _ => None,
        })
        .collect();
    regs.sort();
    regs.dedup();
    regs
}
