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

/// Random stretches between the check and the advance: loads and stores
/// through the cursor at random offsets and widths, arithmetic on other
/// registers, any condition, on random memory — the JIT (which rewrites
/// them when it can) against the interpreter.
mod random {
    use super::common::{agree, asm};
    use proptest::prelude::*;

    const SIZES: [(&str, i16); 4] = [("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8)];

    fn op() -> impl Strategy<Value = String> {
        // The cursor starts 16 bytes into 64: offsets keep every access
        // inside the memory whatever the branch did.
        let off = -16i16..=40;
        prop_oneof![
            (0usize..4, 7u8..=9, off.clone()).prop_map(|(s, d, o)| {
                let (ty, n) = SIZES[s];
                let o = o.min(48 - n);
                format!("r{d} = *({ty} *)(r4 {o:+})")
            }),
            (0usize..4, 7u8..=9, off).prop_map(|(s, r, o)| {
                let (ty, n) = SIZES[s];
                let o = o.min(48 - n);
                format!("*({ty} *)(r4 {o:+}) = r{r}")
            }),
            (7u8..=9, any::<i16>()).prop_map(|(d, k)| format!("r{d} ^= {k}")),
            (7u8..=9, 7u8..=9).prop_map(|(d, s)| format!("r{d} += r{s}")),
            (0u8..=0, 7u8..=9).prop_map(|(d, s)| format!("r{d} += r{s}")),
        ]
    }

    fn program() -> impl Strategy<Value = (String, usize)> {
        (
            -8i32..=16,
            0usize..super::CONDS.len(),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(op(), 0..8),
        )
            .prop_map(|(k, c, copy_left, wide, ops)| {
                let (copy, other) = if wide { ("r6", "r3") } else { ("w6", "w3") };
                let cond = super::CONDS[c];
                let check = if copy_left {
                    format!("if {copy} {cond} {other} goto +{}", ops.len() + 1)
                } else {
                    format!("if {other} {cond} {copy} goto +{}", ops.len() + 1)
                };
                let text = format!(
                    "r0 = 0\nr7 = 1\nr8 = 2\nr9 = 3\nr4 = r1\nr4 += 16\n\
                     r3 = *(u64 *)(r1 + 0)\nr3 += r4\nr6 = r4\nr6 += {k}\n{check}\n{}\n\
                     r4 += {k}\nr4 -= r1\nr0 += r4\nr0 += r7\nr0 += r8\nr0 += r9\nexit\n",
                    ops.join("\n")
                );
                (text, ops.len())
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn random_stretches_agree((text, _) in program(), d in -24i64..=24, fill in any::<u8>()) {
            let insns = asm(&text);
            let mut mem = vec![fill; 64];
            mem[..8].copy_from_slice(&d.to_le_bytes());
            let (r, _) = agree(&insns, &mem);
            prop_assert!(r.is_ok(), "{r:?}\n{text}");
        }
    }
}
