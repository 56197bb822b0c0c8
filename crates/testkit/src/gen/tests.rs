//! Generator properties that need no kernel: every operation comes up, and
//! every generated or shrunk body lays out into a program the kernel's CFG
//! check would take (targets in range, not inside an `lddw`, every slot
//! reachable, back-edges only where a loop closes). The kernel's verdict on
//! the same programs is in `tests/differential.rs`.

use super::*;
use isa::{AluOp, ByteOrder, Insn, JmpCond, Operand, Width};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::collections::BTreeSet;

/// Structural checks of a laid-out body of `insns`; `Err` names the slot.
fn check_layout(insns: &[Insn]) -> Result<(), String> {
    let mut starts = Vec::new(); // slot index of each instruction
    let mut pc = 0;
    for i in insns {
        starts.push(pc);
        pc += i.slots();
    }
    let end = pc;
    let is_start = |t: i64| t == end as i64 || starts.binary_search(&(t as usize)).is_ok();
    let mut reach = vec![false; end + 1];
    reach[0] = true;
    // Forward jumps only, except loop back-edges, so one pass in order
    // marks everything reachable, then back-edges add nothing new (their
    // targets are loop heads reached by falling through the counter set-up).
    for (k, insn) in insns.iter().enumerate() {
        let at = starts[k];
        if matches!(insn, Insn::Exit | Insn::Call(_) | Insn::CallX { .. }) {
            return Err(format!("slot {at}: {insn:?} in a body"));
        }
        if format!("{insn:?}").contains("r10") {
            return Err(format!("slot {at}: {insn:?} touches r10"));
        }
        if !reach[at] {
            return Err(format!("slot {at}: unreachable"));
        }
        let next = at + insn.slots();
        if !matches!(insn, Insn::Ja { .. }) {
            reach[next] = true;
        }
        if let Some(t) = insn.branch_target(at) {
            if !is_start(t) || t < 0 || t > end as i64 {
                return Err(format!("slot {at}: target {t} is not an instruction start"));
            }
            if t <= at as i64 {
                let back_ok = matches!(insn, Insn::Jump { dst, src: Operand::Imm(_), .. }
                    if *dst == isa::Reg::R8 || *dst == isa::Reg::R9);
                if !back_ok {
                    return Err(format!("slot {at}: backward jump {insn:?} is not a loop's"));
                }
            } else {
                reach[t as usize] = true;
            }
        }
    }
    if !reach[end] {
        return Err("the end of the body is unreachable".into());
    }
    Ok(())
}

/// A deterministic runner with the fast RNG (ChaCha is slow in debug builds).
fn runner() -> TestRunner {
    let config = proptest::test_runner::Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..Default::default()
    };
    TestRunner::new_with_rng(
        config.clone(),
        proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm),
    )
}

fn draw<T: std::fmt::Debug>(s: &impl Strategy<Value = T>, n: usize) -> Vec<T> {
    let mut runner = runner();
    (0..n)
        .map(|_| s.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn configs() -> [GenConfig; 3] {
    [
        GenConfig::straight_line(),
        GenConfig::forward_branching(),
        GenConfig::bounded_loops(),
    ]
}

#[test]
fn generated_bodies_have_valid_layouts_and_sizes() {
    for cfg in configs() {
        let mut lens = BTreeSet::new();
        for b in draw(&body(cfg.clone()), 600) {
            let insns = b.insns();
            let n: usize = insns.iter().map(Insn::slots).sum();
            assert_eq!(n, b.slots());
            assert!(n <= cfg.max_insns, "{n} slots > {}", cfg.max_insns);
            lens.insert(n);
            check_layout(&insns)
                .unwrap_or_else(|e| panic!("{e}\n{}", crate::listing::listing(&insns)));
            if !cfg.branches {
                assert!(insns.iter().all(|i| i.branch_target(0).is_none()));
            }
        }
        // Lengths spread over the whole range, not just the cap.
        assert!(
            lens.len() >= cfg.max_insns / 2,
            "{cfg:?}: only lengths {lens:?}"
        );
        assert!(
            lens.iter().any(|&l| l <= 12) && lens.contains(&cfg.max_insns),
            "{lens:?}"
        );
    }
}

/// Shrinking is where hand-made jump offsets would break: walk each tree
/// down through a few hundred simplifications and check every step.
#[test]
fn shrunk_bodies_stay_valid() {
    let mut runner = runner();
    for cfg in configs() {
        let s = body(cfg);
        for _ in 0..30 {
            let mut tree = s.new_tree(&mut runner).unwrap();
            for step in 0..300 {
                let insns = tree.current().insns();
                check_layout(&insns).unwrap_or_else(|e| panic!("after {step} shrinks: {e}"));
                // Alternate: accept some simplifications, reject others.
                let moved = if step % 3 == 0 {
                    tree.complicate()
                } else {
                    tree.simplify()
                };
                if !moved && step % 3 != 0 {
                    break;
                }
            }
        }
    }
}

/// A key per instruction shape, to check coverage.
fn shape(i: &Insn) -> String {
    match *i {
        Insn::Alu { width, op, src, .. } => {
            format!("alu {width:?} {op:?} {}", matches!(src, Operand::Reg(_)))
        }
        Insn::Neg { width, .. } => format!("neg {width:?}"),
        Insn::MovSx { width, bits, .. } => format!("movsx {width:?} {bits}"),
        Insn::Endian { order, bits, .. } => format!("end {order:?} {bits}"),
        Insn::LoadImm64 { .. } => "lddw".into(),
        Insn::Ja { long, .. } => format!("ja {long}"),
        Insn::Jump {
            width, cond, src, ..
        } => {
            format!("jmp {width:?} {cond:?} {}", matches!(src, Operand::Reg(_)))
        }
        _ => format!("{i:?}"),
    }
}

#[test]
fn every_operation_comes_up() {
    let mut seen = BTreeSet::new();
    for b in draw(&body(GenConfig::forward_branching()), 600) {
        seen.extend(b.insns().iter().map(shape));
    }
    let mut want = Vec::new();
    for width in [Width::W32, Width::W64] {
        for op in AluOp::ALL {
            for reg in [false, true] {
                want.push(format!("alu {width:?} {op:?} {reg}"));
            }
        }
        for cond in JmpCond::ALL {
            for reg in [false, true] {
                want.push(format!("jmp {width:?} {cond:?} {reg}"));
            }
        }
        want.push(format!("neg {width:?}"));
    }
    for bits in [8, 16] {
        want.push(format!("movsx W32 {bits}"));
    }
    for bits in [8, 16, 32] {
        want.push(format!("movsx W64 {bits}"));
    }
    for order in [ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap] {
        for bits in [16, 32, 64] {
            want.push(format!("end {order:?} {bits}"));
        }
    }
    want.extend(["lddw".to_string(), "ja false".into(), "ja true".into()]);
    let missing: Vec<&String> = want.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}

#[test]
fn immediates_stay_legal_and_edges_come_up() {
    let mut shift_max = false;
    let mut div_by_minus_one = false;
    for b in draw(&body(GenConfig::straight_line()), 1500) {
        for i in b.insns() {
            if let Insn::Alu {
                width,
                op,
                src: Operand::Imm(imm),
                ..
            } = i
            {
                match op {
                    AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => {
                        assert_ne!(imm, 0, "{i:?}");
                        div_by_minus_one |= imm == -1 && op == AluOp::SDiv;
                    }
                    AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                        assert!((0..width.bits() as i32).contains(&imm), "{i:?}");
                        shift_max |= imm == width.bits() as i32 - 1;
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(shift_max && div_by_minus_one);
}

#[test]
fn loop_bodies_never_write_their_counters() {
    fn walk(stmts: &[Stmt], counters: &mut Vec<isa::Reg>) {
        for s in stmts {
            match s {
                Stmt::Op(i) => {
                    let w = written_regs(&[*i]);
                    assert!(
                        w.iter().all(|r| !counters.contains(r)),
                        "{i:?} writes a counter"
                    );
                }
                Stmt::Loop { counter, body, .. } => {
                    counters.push(*counter);
                    walk(body, counters);
                    counters.pop();
                }
                Stmt::IfElse { then_, else_, .. } => {
                    walk(then_, counters);
                    walk(else_, counters);
                }
                Stmt::Branch { .. } => {}
            }
        }
    }
    let mut loops = 0;
    for b in draw(&body(GenConfig::bounded_loops()), 1000) {
        loops += b
            .stmts
            .iter()
            .filter(|s| matches!(s, Stmt::Loop { .. }))
            .count();
        walk(&b.stmts, &mut Vec::new());
    }
    assert!(loops > 1000, "only {loops} loops in 1000 bodies");
}

#[test]
fn fit_keeps_structure_within_budget() {
    let op = Stmt::Op(Insn::mov64_imm(isa::Reg::R1, 1));
    let big = Stmt::IfElse {
        cond: Cond {
            width: Width::W64,
            cond: JmpCond::Eq,
            dst: isa::Reg::R1,
            src: Operand::Imm(0),
        },
        then_: vec![op.clone(); 10],
        else_: vec![op.clone(); 10],
        long: false,
    };
    let out = fit(vec![op.clone(), big], 8);
    assert_eq!(slots(&out), 8);
    assert!(
        matches!(&out[1], Stmt::IfElse { then_, else_, .. } if then_.len() == 5 && else_.is_empty())
    );
    assert!(fit(vec![op; 3], 0).is_empty());
}

#[test]
fn standalone_programs_initialise_every_register_then_exit() {
    for p in draw(&loop_program(), 50) {
        let insns = p.insns();
        assert_eq!(insns.last(), Some(&Insn::Exit));
        assert_eq!(written_regs(&insns[..10]), SCALAR_REGS.to_vec());
        check_layout(&insns[10..insns.len() - 1]).unwrap();
    }
    assert_eq!(
        init_insns(&[u64::MAX, 0x8000_0000, 0, 0, 0, 0, 0, 0, 0, 0])[..2],
        [
            Insn::mov64_imm(isa::Reg::R0, -1),
            Insn::LoadImm64 {
                dst: isa::Reg::R1,
                imm: isa::LoadImm::Imm(0x8000_0000)
            }
        ]
    );
}

#[test]
fn register_buffer_round_trips() {
    let regs = [1, 2, 3, 4, 5, 6, 7, 8, 9, u64::MAX];
    let bytes = regs_to_bytes(&regs);
    assert_eq!(&bytes[72..], &[0xff; 8]);
    assert_eq!(regs_from_bytes(&bytes), Some(regs));
    assert_eq!(regs_from_bytes(&bytes[..79]), None);
}
