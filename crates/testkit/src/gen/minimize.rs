//! A second minimisation pass after proptest's shrinking.
//!
//! Why: proptest shrinks a vector by removing elements first and shrinking
//! the survivors after, and never goes back to removing; through the
//! recursive statement strategy a failing 60-slot body typically stops at
//! a dozen slots of `w0 += 0` around the one instruction that matters.
//! This pass keeps trying structural deletions on the tree — drop a
//! statement, replace an if/else or loop by one of its blocks — until none
//! still fails, then zeroes input registers one by one.

use super::program::{Body, Stmt};

/// Every body obtained from `body` by one deletion or splice, in tree
/// order (earlier statements first).
pub fn simplifications(body: &Body) -> Vec<Body> {
    block_variants(&body.stmts)
        .into_iter()
        .map(|stmts| Body { stmts })
        .collect()
}

/// Variants of a block: each statement removed, each compound statement
/// replaced by its blocks, and each compound statement's inner variants.
fn block_variants(stmts: &[Stmt]) -> Vec<Vec<Stmt>> {
    let mut out = Vec::new();
    for (i, s) in stmts.iter().enumerate() {
        let with = |replacement: Vec<Stmt>| {
            let mut v = stmts[..i].to_vec();
            v.extend(replacement);
            v.extend_from_slice(&stmts[i + 1..]);
            v
        };
        out.push(with(Vec::new()));
        match s {
            Stmt::IfElse {
                cond,
                then_,
                else_,
                long,
            } => {
                out.push(with(then_.clone()));
                out.push(with(else_.clone()));
                for t in block_variants(then_) {
                    out.push(with(vec![Stmt::IfElse {
                        cond: *cond,
                        then_: t,
                        else_: else_.clone(),
                        long: *long,
                    }]));
                }
                for e in block_variants(else_) {
                    out.push(with(vec![Stmt::IfElse {
                        cond: *cond,
                        then_: then_.clone(),
                        else_: e,
                        long: *long,
                    }]));
                }
            }
            Stmt::Loop {
                counter,
                kind,
                count,
                body,
            } => {
                out.push(with(body.clone()));
                if *count > 1 {
                    out.push(with(vec![Stmt::Loop {
                        counter: *counter,
                        kind: *kind,
                        count: 1,
                        body: body.clone(),
                    }]));
                }
                for b in block_variants(body) {
                    out.push(with(vec![Stmt::Loop {
                        counter: *counter,
                        kind: *kind,
                        count: *count,
                        body: b,
                    }]));
                }
            }
            Stmt::Op(_) | Stmt::Branch { .. } => {}
        }
    }
    out
}

/// Greedily applies [`simplifications`] while `fails` holds, then zeroes
/// each register of `input` while it still fails. Returns the smallest
/// failing body and input found. `fails` must hold for the arguments.
pub fn minimize(
    body: Body,
    input: [u64; 10],
    mut fails: impl FnMut(&Body, &[u64; 10]) -> bool,
) -> (Body, [u64; 10]) {
    let mut cur = body;
    // Each accepted step removes at least one statement or block level,
    // so this terminates.
    'outer: loop {
        for cand in simplifications(&cur) {
            if fails(&cand, &input) {
                cur = cand;
                continue 'outer;
            }
        }
        break;
    }
    let mut input = input;
    for r in 0..10 {
        if input[r] != 0 {
            let mut zeroed = input;
            zeroed[r] = 0;
            if fails(&cur, &zeroed) {
                input = zeroed;
            }
        }
    }
    (cur, input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::Cond;
    use isa::{AluOp, Insn, JmpCond, Operand, Reg, Width};

    fn add(dst: Reg, imm: i32) -> Stmt {
        Stmt::Op(Insn::Alu {
            width: Width::W64,
            op: AluOp::Add,
            dst,
            src: Operand::Imm(imm),
        })
    }

    #[test]
    fn digs_the_culprit_out_of_nested_blocks() {
        let culprit = add(Reg::R3, 42);
        let cond = Cond {
            width: Width::W32,
            cond: JmpCond::Eq,
            dst: Reg::R1,
            src: Operand::Imm(0),
        };
        let body = Body {
            stmts: vec![
                add(Reg::R0, 1),
                Stmt::IfElse {
                    cond,
                    then_: vec![add(Reg::R1, 1), Stmt::Branch { cond, skip: 1 }],
                    else_: vec![Stmt::Loop {
                        counter: Reg::R9,
                        kind: crate::gen::LoopKind {
                            up: false,
                            width: Width::W64,
                            cond: 0,
                        },
                        count: 5,
                        body: vec![add(Reg::R2, 2), culprit.clone()],
                    }],
                    long: false,
                },
                add(Reg::R4, 4),
            ],
        };
        let mut calls = 0;
        let (min, input) = minimize(body, [7; 10], |b, input| {
            calls += 1;
            input[3] == 7
                && b.insns().contains(&Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Add,
                    dst: Reg::R3,
                    src: Operand::Imm(42),
                })
        });
        assert_eq!(min.stmts, vec![culprit]);
        assert_eq!(input, [0, 0, 0, 7, 0, 0, 0, 0, 0, 0]);
        assert!(calls < 200, "{calls} calls");
    }

    #[test]
    fn nothing_to_remove_from_a_single_statement_that_fails() {
        let body = Body {
            stmts: vec![add(Reg::R0, 1)],
        };
        let (min, _) = minimize(body.clone(), [0; 10], |b, _| !b.stmts.is_empty());
        assert_eq!(min, body);
    }
}
