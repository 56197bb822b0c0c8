//! The llvm/kernel-style assembler: encodings of hand-written lines and
//! errors with their line, column and wording.

use oxbpf_isa::asm::{assemble, assemble_insns, AsmErrorKind, Syntax};
use oxbpf_isa::disasm::{listing, Dialect, DisasmOptions};
use oxbpf_isa::*;

fn bytes(text: &str) -> String {
    let slots = assemble(text, Syntax::Llvm).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    RawInsn::slice_to_bytes(&slots)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn encodings_match_clang() {
    // Bytes from clang-19's assembler (tests/golden/disasm/asm_all.c).
    assert_eq!(bytes("r0 = -1"), "b7 00 00 00 ff ff ff ff");
    assert_eq!(bytes("w1 = w2"), "bc 21 00 00 00 00 00 00");
    assert_eq!(bytes("r0 s%= 3"), "97 00 01 00 03 00 00 00");
    assert_eq!(bytes("w1 = (s16)w2"), "bc 21 10 00 00 00 00 00");
    assert_eq!(
        bytes("r1 = 0x123456789abcdef0 ll"),
        "18 01 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12"
    );
    assert_eq!(bytes("r0 = *(u16 *)(r1 - 2)"), "69 10 fe ff 00 00 00 00");
    assert_eq!(bytes("*(u16 *)(r10 - 2) = -2"), "6a 0a fe ff fe ff ff ff");
    assert_eq!(
        bytes("lock *(u64 *)(r1 + 8) ^= r2"),
        "db 21 08 00 a0 00 00 00"
    );
    assert_eq!(
        bytes("w2 = xchg32_32(r1 + 8, w2)"),
        "c3 21 08 00 e1 00 00 00"
    );
    assert_eq!(bytes("r0 = *(u32 *)skb[r1]"), "40 10 00 00 00 00 00 00");
    assert_eq!(bytes("if w1 s< -3 goto +1"), "c6 01 01 00 fd ff ff ff");
    assert_eq!(bytes("callx r2"), "8d 02 00 00 00 00 00 00");
    assert_eq!(
        bytes("r0 = 4294967295 ll"),
        "18 00 00 00 ff ff ff ff 00 00 00 00 00 00 00 00"
    );
}

#[test]
fn labels_comments_and_helper_names() {
    let text = "\
start:  r0 = 0          ; count
        if r1 == 0 goto done   // skip
loop:   r0 += 1         # one more
        r1 -= 1
        if r1 != 0 goto loop
done:   call bpf_ktime_get_ns
        call sub
        exit
sub:    r0 = 7
        exit
";
    let insns = assemble_insns(text, Syntax::Llvm).unwrap();
    let r = |n| Reg::new(n).unwrap();
    assert_eq!(
        insns[1],
        Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Eq,
            dst: r(1),
            src: Operand::Imm(0),
            off: 3
        }
    );
    assert_eq!(
        insns[4],
        Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Ne,
            dst: r(1),
            src: Operand::Imm(0),
            off: -3
        }
    );
    assert_eq!(insns[5], Insn::Call(CallTarget::Helper(5)));
    assert_eq!(insns[6], Insn::Call(CallTarget::Local { rel: 1 }));
}

/// Kernel text (verifier log, `prog dump xlated`) reads back too.
#[test]
fn kernel_text_assembles() {
    let text = "\
*(u32 *)(r10 -4) = 0
r2 = r10
r2 += -4
r0 = *(u32 *)(r2 +0)
if r0 >= 0x4 goto pc+3
lock *(u64 *)(r0 +0) += r1
r2 = atomic64_fetch_or((u64 *)(r0 +0), r2)
r0 = atomic64_cmpxchg((u64 *)(r3 +0), r0, r1)
call bpf_map_lookup_elem#1
call pc+13
goto pc-2
exit
";
    let slots = assemble(text, Syntax::Llvm).unwrap();
    let kernel = listing(&slots, DisasmOptions::new(Dialect::Kernel)).unwrap();
    let body: Vec<&str> = kernel
        .lines()
        .map(|l| &l[l.find(") ").unwrap() + 2..])
        .collect();
    let want: Vec<&str> = text.lines().collect();
    assert_eq!(body, want);
}

#[test]
fn errors_point_at_the_token() {
    let cases = [
        (
            "r0 = r11",
            1,
            6,
            "Invalid register `r11` (expected r0 to r10)",
        ),
        ("r0 += ", 1, 7, "expected a number, found end of line"),
        (
            "if r1 == 1 goto",
            1,
            16,
            "expected `+N`, `-N` or a label, found end of line",
        ),
        ("exit\ngoto nowhere", 2, 6, "Invalid label: nowhere"),
        (
            "w0 = *(u32 *)(w1 + 0)",
            1,
            15,
            "expected an r register as the base address, found `w1`",
        ),
        (
            "*(u32 *)(r1 + 70000) = 1",
            1,
            15,
            "Offset out of 16-bit range: +70000",
        ),
        (
            "r0 = 4294967296",
            1,
            6,
            "Immediate out of 32-bit range: 4294967296",
        ),
        ("foo r1", 1, 1, "Invalid mnemonic: foo"),
        ("r0 = 1 2", 1, 8, "expected end of line, found `2`"),
        ("w1 = w1 + 1", 1, 9, "expected end of line, found `+`"),
        (
            "l: exit\nl: exit",
            2,
            1,
            "Duplicate label l (first defined on line 1)",
        ),
    ];
    for (text, line, column, msg) in cases {
        let e = assemble(text, Syntax::Llvm).unwrap_err();
        assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
        assert_eq!(
            e.to_string(),
            format!("line {line}, column {column}: {msg}"),
            "{text:?}"
        );
    }
    // Too far for a 16-bit offset, fine for gotol.
    let far = format!("goto end\n{}end: exit\n", "r0 = 0\n".repeat(40_000));
    let e = assemble(&far, Syntax::Llvm).unwrap_err();
    assert!(
        matches!(e.kind, AsmErrorKind::JumpRange { bits: 16, .. }),
        "{e}"
    );
    assert!(assemble(&far.replace("goto end", "gotol end"), Syntax::Llvm).is_ok());
}
