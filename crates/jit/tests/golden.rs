//! Golden listings of the code the JIT generates for a few programs: the
//! BPF instruction (`; …`) above the x86-64 code it became. Regenerate with
//! `BLESS=1 cargo test -p oxbpf-jit --test golden` and review the diff.
//!
//! The programs call no helpers: helper addresses (and so `call` bytes)
//! change from build to build and run to run.

use isa::disasm::{Dialect, DisasmOptions};
use isa::Insn;
use oxbpf_jit::{disassemble_annotated, CompileOptions, JitProgram};
use vm::{HelperRegistry, PrepareOptions};

fn insns(text: &str) -> Vec<Insn> {
    let bytes = isa::asm::assemble_bytes(text, isa::asm::Syntax::Llvm).expect("assembles");
    let raw = isa::RawInsn::slice_from_bytes(&bytes).expect("slots");
    isa::decode_program(&raw)
        .expect("decodes")
        .into_iter()
        .map(|(_, i)| i)
        .collect()
}

fn listing(insns: &[Insn], bmi2: bool) -> String {
    let helpers = HelperRegistry::new();
    let opts = CompileOptions {
        bmi2,
        ..CompileOptions::new(PrepareOptions::new(&helpers))
    };
    // SAFETY: compiled only, never run.
    let prog = unsafe { JitProgram::compile_trusted(insns, &opts) }.expect("compiles");
    let mut notes = Vec::new();
    let mut pc = 0;
    for insn in insns {
        if let Some(off) = prog.slot_offset(pc) {
            let text = isa::disasm::insn_text(insn, DisasmOptions::new(Dialect::Kernel));
            notes.push((off, format!("{pc}: {text}")));
        }
        pc += insn.slots();
    }
    disassemble_annotated(prog.code(), false, &notes)
}

fn golden(name: &str, text: &str, bmi2: bool) {
    let actual = listing(&insns(text), bmi2);
    testkit::golden::assert_golden(format!("crates/jit/tests/golden/{name}.txt"), actual);
}

/// The benchmark's checksum loop (crates/jit/benches/jit.rs): a 16-bit
/// one's-complement sum with a bounds check per step.
#[test]
fn checksum_loop() {
    let text = "
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u64 *)(r1 + 8)
        r0 = 0
        r4 = r2
        r5 = 0
    loop:
        r6 = r4
        r6 += 2
        if r6 > r3 goto done
        r7 = *(u16 *)(r4 + 0)
        r0 += r7
        r4 += 2
        r5 += 2
        if r5 < 1500 goto loop
    done:
        r6 = r0
        r6 >>= 16
        r0 &= 0xffff
        r0 += r6
        exit
    ";
    golden("checksum", text, true);
}

#[test]
fn prime_counting_loop() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/asm/prime.s"
    ))
    .expect("prime.s");
    golden("prime", &text, true);
}

#[test]
fn division_modulo_and_shifts() {
    let text = "
        r0 = r1
        r0 /= r3
        r3 %= r0
        w4 = w2
        w4 s/= 7
        r6 s%= r2
        r2 >>= r4
        r4 <<= r1
        w0 s>>= w4
        r0 += r6
        exit
    ";
    golden("divmod", text, true);
    golden("divmod_no_bmi2", text, false);
}

#[test]
fn atomics_and_byte_swaps() {
    let text = "
        r1 = r10
        r1 += -8
        *(u64 *)(r10 - 8) = 5
        lock *(u64 *)(r1 + 0) += r2
        r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)
        r0 = cmpxchg_64(r1 + 0, r0, r3)
        w3 = xchg32_32(r1 + 0, w3)
        r0 = be16 r0
        r0 = le32 r0
        r0 = bswap64 r0
        exit
    ";
    golden("atomics", text, true);
}

#[test]
fn bpf_to_bpf_calls() {
    let text = "
        r6 = 1
        r1 = 10
        call add
        r0 += r6
        exit
    add:
        r6 = r1
        r0 = r6
        r0 += 2
        *(u64 *)(r10 - 8) = r0
        exit
    ";
    golden("calls", text, true);
}
