//! The cursor rewrite (`codegen::cursor`: a packet cursor advanced before
//! its bounds check, the taken branch stepping it back in a stub) against
//! the interpreter, on both outcomes of every kind of check: each
//! condition, both operand orders, 32- and 64-bit compares, positive and
//! negative steps, and values on either side of the boundary. The cursor
//! is observable on both paths (it is returned and stored), as are a load
//! and a store through it inside the rewritten stretch.

mod common;

use common::{agree, asm, listing};
use oxbpf_jit::{CompileOptions, JitProgram};
use vm::{HelperRegistry, PrepareOptions};

const CONDS: [&str; 11] = [
    "==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<=", "&",
];

/// `r4` is a cursor 8 bytes into the memory; the check compares
/// `r4 + k` with `r3 = r4 + *(u64 *)mem`.
fn program(cond: &str, copy_left: bool, wide: bool, k: i32) -> String {
    let (copy, other) = if wide { ("r6", "r3") } else { ("w6", "w3") };
    let check = if copy_left {
        format!("if {copy} {cond} {other} goto +3")
    } else {
        format!("if {other} {cond} {copy} goto +3")
    };
    format!(
        "r4 = r1
r4 += 8
r3 = *(u64 *)(r1 + 0)
r3 += r4
r6 = r4
r6 += {k}
{check}
r7 = *(u8 *)(r4 + 1)
*(u8 *)(r4 + 2) = r7
r4 += {k}
r4 -= r1
*(u64 *)(r1 + 16) = r4
r0 = r4
exit
"
    )
}

#[test]
fn every_check_agrees_on_both_paths() {
    let mut compiled_with_stub = 0;
    for k in [1i32, 14, -4, 0x7fff] {
        for cond in CONDS {
            for copy_left in [true, false] {
                for wide in [true, false] {
                    let insns = asm(&program(cond, copy_left, wide, k));
                    // The rewrite applied: the cursor (rcx) steps back in
                    // the taken branch's stub.
                    let helpers = HelperRegistry::with_builtins();
                    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
                    // SAFETY: compiled and disassembled, not run here.
                    let jit =
                        unsafe { JitProgram::compile_trusted(&insns, &opts) }.expect("compiles");
                    let dump = jit.dump_jited(false);
                    if dump
                        .lines()
                        .any(|l| l.contains("sub") && l.contains(" $") && l.ends_with(",%rcx"))
                    {
                        compiled_with_stub += 1;
                    } else {
                        panic!("not rewritten:\n{}\n{dump}", listing(&insns));
                    }
                    for d in [
                        i64::from(k) - 1,
                        i64::from(k),
                        i64::from(k) + 1,
                        0,
                        -1,
                        i64::MIN,
                        0x1_0000_0000 + i64::from(k),
                    ] {
                        let mut mem = vec![0x5au8; 64];
                        mem[..8].copy_from_slice(&d.to_le_bytes());
                        let (r, _) = agree(&insns, &mem);
                        let r0 = r.expect("runs");
                        assert!(r0 == 8 || r0 == (8 + i64::from(k)) as u64, "r0 = {r0}");
                    }
                }
            }
        }
    }
    assert_eq!(compiled_with_stub, 4 * 11 * 2 * 2);
}

#[test]
fn both_outcomes_happen() {
    // The boundary values above do take both branches: `>` with d = k - 1
    // (taken) and d = k (not taken).
    let insns = asm(&program(">", true, true, 14));
    let run = |d: i64| {
        let mut mem = vec![0u8; 64];
        mem[..8].copy_from_slice(&d.to_le_bytes());
        agree(&insns, &mem).0.expect("runs")
    };
    assert_eq!(run(13), 8, "taken: the cursor stepped back");
    assert_eq!(run(14), 22, "not taken: the cursor advanced");
}

#[test]
fn a_cursor_read_as_a_value_is_left_alone() {
    let stub = |l: &str| l.contains("sub") && l.contains(" $") && l.ends_with(",%rcx");
    // `r0 = r4` inside the stretch reads the cursor itself: no rewrite, and
    // still the interpreter's result.
    let text = program(">", true, true, 14).replace(
        "*(u8 *)(r4 + 2) = r7",
        "*(u8 *)(r4 + 2) = r7\nr5 = r4\nr5 -= r1\n*(u64 *)(r1 + 24) = r5",
    );
    // The check still jumps to `r4 -= r1`.
    let text = text.replace("goto +3", "goto +6");
    let insns = asm(&text);
    let helpers = HelperRegistry::with_builtins();
    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
    // SAFETY: compiled and disassembled, not run here.
    let jit = unsafe { JitProgram::compile_trusted(&insns, &opts) }.expect("compiles");
    assert!(!jit.dump_jited(false).lines().any(stub));
    for d in [13i64, 14] {
        let mut mem = vec![0u8; 64];
        mem[..8].copy_from_slice(&d.to_le_bytes());
        let r0 = agree(&insns, &mem).0.expect("runs");
        assert!(r0 == 8 || r0 == 22, "r0 = {r0}");
    }
}
