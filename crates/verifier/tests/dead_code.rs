//! The dead-code passes (`oxbpf_verifier::dead`) against the kernel's: each
//! program is verified here and loaded into the running kernel, and our
//! rewritten instructions must be the kernel's xlated ones — one-sided
//! branches hard-wired, unreached code and `ja +0` removed, jumps
//! retargeted — except the immediates of helper calls, which the kernel
//! turns into addresses. Skipped, with a note, where `bpf(2)` is not
//! permitted; the lengths are checked without the kernel too.

use isa::asm::{assemble, Syntax};
use isa::RawInsn;
use oxbpf_verifier::{verify, Request};
use testkit::kernel::ProgLoad;
use uapi::ProgType;

/// (name, program, instructions left after the passes).
const CASES: &[(&str, &str, usize)] = &[
    (
        "never taken: the jump and the far side go",
        "r1 = 0\nif r1 != 0 goto +2\nr0 = 1\nexit\nr0 = 2\nexit\n",
        3,
    ),
    (
        "always taken: the near side goes, and the jump becomes a nop",
        "r1 = 1\nif r1 != 0 goto +2\nr0 = 1\nexit\nr0 = 2\nexit\n",
        3,
    ),
    (
        "a dead store in the middle; live jumps across it are retargeted",
        "call 7\nr6 = r0\nr1 = 0\nif r1 == 0 goto +1\nr6 = 5\nif r6 > 10 goto +2\nr0 = 1\nexit\nr0 = 2\nexit\n",
        8,
    ),
    (
        "an lddw behind a constant goes whole",
        "r1 = 0\nif r1 != 0 goto +2\nr0 = 0\nexit\nr0 = 0x100000000 ll\nexit\n",
        3,
    ),
    (
        "a backward jump over removed code",
        "r0 = 0\nr1 = 0\nr0 += 1\nif r1 != 0 goto +1\ngoto +1\nr0 = 9\nif r0 < 3 goto -5\nexit\n",
        5,
    ),
    (
        "nothing dead: nothing changes",
        "call 7\nif r0 > 5 goto +1\nr0 = 0\nexit\n",
        4,
    ),
];

fn ours(insns: &[RawInsn]) -> Vec<RawInsn> {
    let req = Request::new(insns, ProgType::SocketFilter);
    verify(&req)
        .unwrap_or_else(|r| panic!("refused: {}", r.message))
        .insns()
        .to_vec()
}

#[test]
fn dead_code_goes_as_in_linux() {
    let kernel = testkit::require_kernel();
    for (name, text, left) in CASES {
        let insns = assemble(text, Syntax::Llvm).expect("assembles");
        let got = ours(&insns);
        assert_eq!(got.len(), *left, "{name}: {got:?}");
        let Some(k) = &kernel else { continue };
        let prog = k
            .load_prog(&ProgLoad::new(ProgType::SocketFilter, &insns))
            .unwrap_or_else(|e| panic!("{name}: Linux refused it: {e}"));
        let want = prog.xlated_insns().expect("xlated");
        let call = |i: &RawInsn| i.code == uapi::opcode::CALL && i.src == 0;
        let same = got.len() == want.len()
            && got.iter().zip(&want).all(|(a, b)| {
                (a.code, a.dst, a.src, a.off) == (b.code, b.dst, b.src, b.off)
                    && (call(a) || a.imm == b.imm)
            });
        assert!(same, "{name}:\nours  {got:?}\nLinux {want:?}");
    }
}
