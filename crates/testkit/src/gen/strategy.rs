//! proptest strategies for instructions, statements and bodies.
//!
//! What the kernel verifier refuses, and how generation stays clear of it
//! (checked against Linux 6.18 by the `generated_programs_pass_the_kernel_verifier`
//! tests):
//! - reading a register never written (`R? !read_ok`): harnesses write
//!   `r0`–`r9` before the body; the body never touches `r10`;
//! - division or modulo by an immediate 0 (`division by zero`): immediate
//!   divisors are never 0 (register divisors may be: the kernel defines the
//!   result, and that is worth testing);
//! - shifts by an immediate ≥ the width (`invalid shift`): immediate shift
//!   counts are reduced modulo the width (register counts are not: the
//!   kernel masks them at run time, and that is worth testing too);
//! - unreachable instructions, back-edges with no bound, jumps into `lddw`
//!   or out of the program: the layout in [`super::program`] rules them out.

use super::program::{fit, slots, Body, Cond, LoopKind, Stmt};
use super::values::{interesting_i32, interesting_u64};
use isa::{AluOp, ByteOrder, Insn, JmpCond, LoadImm, Operand, Reg, Width};
use proptest::prelude::*;

/// What kind of bodies to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// Bodies have at least this many instruction slots (unless a very
    /// large first statement had to be trimmed).
    pub min_insns: usize,
    /// Bodies have at most this many instruction slots.
    pub max_insns: usize,
    /// Forward conditional branches and if/else diamonds.
    pub branches: bool,
    /// Bounded loops (`r9` counts the outer loop and `r8` an inner one, so
    /// other instructions write only `r0`–`r7`). Loop bodies are then
    /// branch-free except for one short loop whose body branches when
    /// `branches` is set; see [`loop_stmt`] for why.
    pub loops: bool,
}

impl GenConfig {
    /// ALU instructions only, 5–60 slots.
    pub fn straight_line() -> Self {
        GenConfig {
            min_insns: 5,
            max_insns: 60,
            branches: false,
            loops: false,
        }
    }
    /// ALU instructions, forward branches and diamonds, 5–60 slots.
    pub fn forward_branching() -> Self {
        GenConfig {
            branches: true,
            ..Self::straight_line()
        }
    }
    /// Bounded loops (nested at most twice), 5–80 slots.
    pub fn bounded_loops() -> Self {
        GenConfig {
            min_insns: 5,
            max_insns: 80,
            branches: true,
            loops: true,
        }
    }
}

/// Registers `r0`–`r9`.
pub const SCALAR_REGS: [Reg; 10] = [
    Reg::R0,
    Reg::R1,
    Reg::R2,
    Reg::R3,
    Reg::R4,
    Reg::R5,
    Reg::R6,
    Reg::R7,
    Reg::R8,
    Reg::R9,
];

fn reg_from(regs: &'static [Reg]) -> impl Strategy<Value = Reg> + Clone {
    prop::sample::select(regs)
}

fn width() -> impl Strategy<Value = Width> + Clone {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

/// Makes an immediate legal for `op`: non-zero divisors, in-range shifts.
pub fn legal_imm(op: AluOp, width: Width, imm: i32) -> i32 {
    match op {
        AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod if imm == 0 => 1,
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => (imm as u32 % width.bits()) as i32,
        _ => imm,
    }
}

/// Every non-control scalar instruction, writing only registers in `dsts`
/// and reading any of `r0`–`r9`: binary ALU ops with immediate and register
/// operands at both widths, `neg`, `movsx`, `le`/`be`/`bswap` at 16/32/64
/// bits, and `lddw` of a 64-bit constant.
pub fn op_insn(dsts: &'static [Reg]) -> impl Strategy<Value = Insn> + Clone {
    let dst = reg_from(dsts);
    let src = reg_from(&SCALAR_REGS);
    let alu_op = prop::sample::select(AluOp::ALL.to_vec());
    prop_oneof![
        4 => (width(), alu_op.clone(), dst.clone(), interesting_i32()).prop_map(|(width, op, dst, imm)| Insn::Alu {
            width,
            op,
            dst,
            src: Operand::Imm(legal_imm(op, width, imm)),
        }),
        4 => (width(), alu_op, dst.clone(), src.clone()).prop_map(|(width, op, dst, s)| Insn::Alu {
            width,
            op,
            dst,
            src: Operand::Reg(s),
        }),
        1 => (width(), dst.clone()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        1 => (any::<bool>(), dst.clone(), src, 0usize..3).prop_map(|(w64, dst, src, b)| {
            let (width, bits) = if w64 { (Width::W64, [8, 16, 32][b]) } else { (Width::W32, [8, 16, 16][b]) };
            Insn::MovSx { width, dst, src, bits }
        }),
        1 => (
            prop::sample::select(vec![ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]),
            dst.clone(),
            prop::sample::select(vec![16u8, 32, 64]),
        )
            .prop_map(|(order, dst, bits)| Insn::Endian { order, dst, bits }),
        1 => (dst, interesting_u64()).prop_map(|(dst, v)| Insn::LoadImm64 { dst, imm: LoadImm::Imm(v) }),
    ]
}

/// A condition over any of `r0`–`r9` and a register or immediate, every
/// comparison, `jmp` and `jmp32`.
pub fn cond() -> impl Strategy<Value = Cond> + Clone {
    let src = prop_oneof![
        reg_from(&SCALAR_REGS).prop_map(Operand::Reg),
        interesting_i32().prop_map(Operand::Imm),
    ];
    (
        width(),
        prop::sample::select(JmpCond::ALL.to_vec()),
        reg_from(&SCALAR_REGS),
        src,
    )
        .prop_map(|(width, cond, dst, src)| Cond {
            width,
            cond,
            dst,
            src,
        })
}

/// Loop-free statements writing `dsts`: instructions, and with `branches`
/// forward branches and (nested) if/else diamonds.
pub fn stmt(dsts: &'static [Reg], branches: bool) -> BoxedStrategy<Stmt> {
    let op = op_insn(dsts).prop_map(Stmt::Op);
    if !branches {
        return op.boxed();
    }
    let leaf = prop_oneof![
        6 => op,
        2 => (cond(), 0u8..16).prop_map(|(cond, skip)| Stmt::Branch { cond, skip }),
    ];
    leaf.prop_recursive(3, 40, 8, |inner| {
        prop_oneof![
            3 => inner.clone(),
            1 => (cond(), prop::collection::vec(inner.clone(), 0..6), prop::collection::vec(inner, 0..6), any::<bool>())
                .prop_map(|(cond, then_, else_, long)| Stmt::IfElse { cond, then_, else_, long }),
        ]
    })
    .boxed()
}

fn loop_kind() -> impl Strategy<Value = LoopKind> {
    (any::<bool>(), width(), 0u8..3).prop_map(|(up, width, cond)| LoopKind { up, width, cond })
}

/// Registers loop bodies may write: not the counters `r8`, `r9`.
const LOOP_DSTS: [Reg; 8] = [
    Reg::R0,
    Reg::R1,
    Reg::R2,
    Reg::R3,
    Reg::R4,
    Reg::R5,
    Reg::R6,
    Reg::R7,
];

/// A bounded loop counted in `r9` with a branch-free body that may hold
/// one inner loop counted in `r8`: up to 8 × 4 iterations.
///
/// Why branch-free: the verifier walks a bounded loop iteration by
/// iteration, and a branch on a value it tracks exactly is decided, which
/// marks the registers behind it precise and stops state pruning; paths
/// then double with every branch of every iteration (random branchy bodies
/// in 16 × 8 loops hit the 1M-instruction limit within 30 programs).
/// Branches inside loops come from [`branchy_loop_stmt`], kept short.
pub fn loop_stmt() -> BoxedStrategy<Stmt> {
    let op = op_insn(&LOOP_DSTS).prop_map(Stmt::Op);
    let inner_body = prop::collection::vec(op.clone(), 1..5);
    let inner = (loop_kind(), 1u8..=4, inner_body).prop_map(|(kind, count, body)| Stmt::Loop {
        counter: Reg::R8,
        kind,
        count,
        body,
    });
    let outer_body = prop::collection::vec(prop_oneof![5 => op, 1 => inner], 1..7);
    (loop_kind(), 1u8..=8, outer_body)
        .prop_map(|(kind, count, body)| Stmt::Loop {
            counter: Reg::R9,
            kind,
            count,
            body,
        })
        .boxed()
}

/// A loop of at most 3 iterations (counted in `r9`) whose body holds plain
/// instructions and up to two forward branches: at most 2^6 paths for the
/// verifier even where it cannot prune.
pub fn branchy_loop_stmt() -> BoxedStrategy<Stmt> {
    let op = op_insn(&LOOP_DSTS).prop_map(Stmt::Op);
    let branch = (cond(), 0u8..8).prop_map(|(cond, skip)| Stmt::Branch { cond, skip });
    let ops = prop::collection::vec(op, 1..8);
    let branches = prop::collection::vec((branch, any::<prop::sample::Index>()), 1..=2);
    (loop_kind(), 1u8..=3, ops, branches)
        .prop_map(|(kind, count, mut body, branches)| {
            for (b, at) in branches {
                let i = at.index(body.len() + 1);
                body.insert(i, b);
            }
            Stmt::Loop {
                counter: Reg::R9,
                kind,
                count,
                body,
            }
        })
        .boxed()
}

/// Bodies as `cfg` describes them.
pub fn body(cfg: GenConfig) -> BoxedStrategy<Body> {
    if cfg.loops {
        return loop_body(cfg);
    }
    let dsts: &'static [Reg] = &SCALAR_REGS;
    let top = stmt(dsts, cfg.branches);
    let min = cfg.min_insns;
    let max = cfg.max_insns.max(min);
    // Branching statements average 1.5–4 slots: up to `max / 2` of them
    // reach `max` about a third of the time (then trimmed), and spread the
    // rest over all lengths. Plain instructions are 1 or 2 slots.
    let hi = if cfg.branches { max / 2 } else { max };
    let count = min.max(1)..=hi.max(min).max(1);
    (
        prop::collection::vec(top, count),
        prop::collection::vec(op_insn(dsts), min),
    )
        .prop_map(move |(stmts, pad)| {
            let mut stmts = fit(stmts, max);
            // Top up a body that trimming left too short with plain ops.
            for op in pad {
                if slots(&stmts) + op.slots() > min.min(max) {
                    break;
                }
                stmts.push(Stmt::Op(op));
            }
            Body { stmts }
        })
        .boxed()
}

/// Loop bodies: plain instructions and branch-free loops at the top level
/// (branches outside loops would multiply the loops' verification cost by
/// the paths reaching them), plus, with `cfg.branches`, one short branchy
/// loop.
fn loop_body(cfg: GenConfig) -> BoxedStrategy<Body> {
    let min = cfg.min_insns;
    let max = cfg.max_insns.max(min);
    let top = prop_oneof![3 => op_insn(&LOOP_DSTS).prop_map(Stmt::Op), 1 => loop_stmt()];
    let branchy = if cfg.branches {
        prop::option::of(branchy_loop_stmt()).boxed()
    } else {
        Just(None).boxed()
    };
    let count = min.max(1)..=(max / 2).max(min).max(1);
    let at = any::<prop::sample::Index>();
    (prop::collection::vec(top, count), branchy, at)
        .prop_map(move |(mut stmts, branchy, at)| {
            if let Some(l) = branchy {
                stmts.insert(at.index(stmts.len() + 1), l);
            }
            Body {
                stmts: fit(stmts, max),
            }
        })
        .boxed()
}

/// A self-contained program: `r0`–`r9` set to `init`, the body, `exit`.
/// Its result is `r0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarProgram {
    pub init: [u64; 10],
    pub body: Body,
}

impl ScalarProgram {
    /// `mov`/`lddw` for each register, the body, `exit`.
    pub fn insns(&self) -> Vec<Insn> {
        let mut out = init_insns(&self.init);
        out.extend(self.body.insns());
        out.push(Insn::Exit);
        out
    }
}

/// `rN = init[N]` for `r0`–`r9`: a `mov` when the value is a sign-extended
/// 32-bit immediate, else an `lddw`.
pub fn init_insns(init: &[u64; 10]) -> Vec<Insn> {
    SCALAR_REGS
        .iter()
        .zip(init)
        .map(|(&r, &v)| {
            if v as i64 == v as i32 as i64 {
                Insn::mov64_imm(r, v as i32)
            } else {
                Insn::LoadImm64 {
                    dst: r,
                    imm: LoadImm::Imm(v),
                }
            }
        })
        .collect()
}

/// Self-contained programs (see [`ScalarProgram`]) with bodies as `cfg`
/// describes and interesting initial register values.
pub fn scalar_program(cfg: GenConfig) -> BoxedStrategy<ScalarProgram> {
    (super::values::reg_file(), body(cfg))
        .prop_map(|(init, body)| ScalarProgram { init, body })
        .boxed()
}

/// [`scalar_program`] with [`GenConfig::straight_line`].
pub fn straight_line_program() -> BoxedStrategy<ScalarProgram> {
    scalar_program(GenConfig::straight_line())
}

/// [`scalar_program`] with [`GenConfig::forward_branching`].
pub fn forward_program() -> BoxedStrategy<ScalarProgram> {
    scalar_program(GenConfig::forward_branching())
}

/// [`scalar_program`] with [`GenConfig::bounded_loops`].
pub fn loop_program() -> BoxedStrategy<ScalarProgram> {
    scalar_program(GenConfig::bounded_loops())
}
