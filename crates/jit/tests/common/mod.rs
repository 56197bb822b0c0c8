//! Running one program on the interpreter and on every JIT variant.
#![allow(dead_code)]

use isa::Insn;
use oxbpf_jit::{CompileOptions, JitProgram};
use vm::{HelperRegistry, Machine, PrepareOptions, Program};

/// What one engine did: r0 or the error text, and the memory afterwards.
pub type Outcome = (Result<u64, String>, Vec<u8>);

/// The JIT variants every test compiles: (blind constants, BMI2 shifts).
pub const VARIANTS: [(bool, bool); 4] =
    [(false, true), (true, true), (false, false), (true, false)];

pub fn interp(insns: &[Insn], mem: &[u8], prep: &PrepareOptions<'_>) -> Outcome {
    let mut mem = mem.to_vec();
    let r = Program::prepare(insns, prep)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            let mut vm = Machine::new();
            vm.set_budget(10_000_000);
            vm.run_on_memory(&p, &mut mem).map_err(|e| e.to_string())
        });
    (r, mem)
}

pub fn jit(insns: &[Insn], mem: &[u8], opts: &CompileOptions<'_>) -> Outcome {
    let mut mem = mem.to_vec();
    // SAFETY: callers pass programs that the checked interpreter ran on the
    // same memory without a memory error (see `agree`), and that are
    // deterministic given their memory.
    let r = unsafe { JitProgram::compile_trusted(insns, opts) }
        .map_err(|e| e.to_string())
        .and_then(|p| p.run_on_memory(&mut mem).map_err(|e| e.to_string()));
    (r, mem)
}

/// Runs `insns` over `mem` on the interpreter and on every JIT variant;
/// panics naming the variant that disagrees. Returns the interpreter's
/// outcome.
#[track_caller]
pub fn agree_with(
    insns: &[Insn],
    mem: &[u8],
    helpers: &HelperRegistry,
    callx_ids: bool,
) -> Outcome {
    let prep = PrepareOptions {
        callx_helper_ids: callx_ids,
        ..PrepareOptions::new(helpers)
    };
    let want = interp(insns, mem, &prep);
    assert!(
        !matches!(&want.0, Err(e) if e.contains("invalid memory") || e.contains("budget")),
        "the interpreter refused the run: {:?}\n{}",
        want.0,
        listing(insns)
    );
    for (blind, bmi2) in VARIANTS {
        let opts = CompileOptions {
            blind_constants: blind,
            bmi2,
            ..CompileOptions::new(prep)
        };
        let got = jit(insns, mem, &opts);
        assert_eq!(
            got,
            want,
            "JIT (blind={blind}, bmi2={bmi2}) disagrees with the interpreter on\n{}",
            listing(insns)
        );
    }
    want
}

/// [`agree_with`] with the builtin helpers.
#[track_caller]
pub fn agree(insns: &[Insn], mem: &[u8]) -> Outcome {
    agree_with(insns, mem, &HelperRegistry::with_builtins(), false)
}

pub fn listing(insns: &[Insn]) -> String {
    testkit::listing::listing(insns)
}

/// Assembles llvm-syntax text.
pub fn asm(text: &str) -> Vec<Insn> {
    let bytes = isa::asm::assemble_bytes(text, isa::asm::Syntax::Llvm).expect("assembles");
    let raw = isa::RawInsn::slice_from_bytes(&bytes).expect("whole slots");
    isa::decode_program(&raw)
        .expect("decodes")
        .into_iter()
        .map(|(_, i)| i)
        .collect()
}
