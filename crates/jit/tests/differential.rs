//! Differential property tests: random programs from testkit's generators
//! (every ALU and jump operation at both widths, immediates and registers,
//! forward branches, diamonds, bounded loops) run on the JIT and on the
//! interpreter, and — where `bpf(2)` is permitted — on Linux, comparing the
//! whole register file r0–r9 (the testkit harness loads them from memory
//! before the body and stores them back after it).
//!
//! Each program is compiled in four variants (blinding on/off, BMI2 on/off)
//! and run on several inputs. `PROPTEST_CASES=N` changes the number of
//! programs per test.

mod common;

use common::{interp, jit, listing, VARIANTS};
use isa::Insn;
use oxbpf_jit::CompileOptions;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use testkit::gen::{self, Body, GenConfig};
use testkit::kernel::{ProgLoad, TestRun};
use uapi::ProgType;
use vm::{HelperRegistry, PrepareOptions};

fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

fn inputs() -> impl Strategy<Value = Vec<[u64; 10]>> {
    prop::collection::vec(gen::reg_file(), 1..=4)
}

/// The body in the memory harness on every engine; the register files
/// must be equal.
fn check_vm(body: &Body, inputs: &[[u64; 10]]) -> Result<(), TestCaseError> {
    let helpers = HelperRegistry::with_builtins();
    let prep = PrepareOptions::new(&helpers);
    let insns = gen::mem_program(body);
    for input in inputs {
        let mem = gen::regs_to_bytes(input);
        let want = interp(&insns, &mem, &prep);
        for (blind, bmi2) in VARIANTS {
            let opts = CompileOptions {
                blind_constants: blind,
                bmi2,
                ..CompileOptions::new(prep)
            };
            let got = jit(&insns, &mem, &opts);
            if got != want {
                return Err(TestCaseError::fail(format!(
                    "JIT (blind={blind}, bmi2={bmi2}) != interpreter\n{}\ninput {input:#x?}\njit {:#x?}\ninterp {:#x?}",
                    listing(&body.insns()),
                    gen::regs_from_bytes(&got.1),
                    gen::regs_from_bytes(&want.1)
                )));
            }
        }
    }
    Ok(())
}

fn run(
    name: &str,
    cases: u32,
    cfg: GenConfig,
    check: impl Fn(&Body, &[[u64; 10]]) -> Result<(), TestCaseError>,
) -> u32 {
    let mut runner = TestRunner::new(config(cases));
    let n = runner.config().cases;
    let started = std::time::Instant::now();
    match runner.run(&(gen::body(cfg), inputs()), |(b, i)| check(&b, &i)) {
        Ok(()) => eprintln!("{name}: {n} programs agree ({:.1?})", started.elapsed()),
        Err(TestError::Fail(why, (body, _))) => panic!("{name}: {why}\nminimal body: {body:?}"),
        Err(TestError::Abort(why)) => panic!("{name}: aborted: {why}"),
    }
    n
}

#[test]
fn straight_line_programs_agree_with_the_interpreter() {
    run("straight_line", 3000, GenConfig::straight_line(), check_vm);
}

#[test]
fn branching_programs_agree_with_the_interpreter() {
    run(
        "forward_branching",
        3000,
        GenConfig::forward_branching(),
        check_vm,
    );
}

#[test]
fn loop_programs_agree_with_the_interpreter() {
    run("bounded_loops", 2000, GenConfig::bounded_loops(), check_vm);
}

/// The JIT's result for the XDP-wrapped body must be Linux's: the kernel
/// returns the register file in `data_out` and the low half of r0 as
/// `retval`.
fn check_kernel(
    k: &testkit::Kernel,
    body: &Body,
    inputs: &[[u64; 10]],
) -> Result<(), TestCaseError> {
    let helpers = HelperRegistry::with_builtins();
    let prep = PrepareOptions::new(&helpers);
    let insns: Vec<Insn> = gen::xdp_program(body);
    let raw = isa::encode_program(&insns);
    let prog = k
        .load_prog(&ProgLoad::new(ProgType::Xdp, &raw).name("jit_diff"))
        .map_err(|e| TestCaseError::fail(format!("GENERATOR BUG: rejected by Linux: {e}")))?;
    // The XDP harness reads data/data_end from an xdp_md; run the memory
    // harness of the same body instead on the JIT.
    let mem_insns = gen::mem_program(body);
    for input in inputs {
        let packet = gen::regs_to_bytes(input);
        let out = prog
            .test_run(&TestRun::with_data(&packet))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let linux = gen::regs_from_bytes(&out.data_out);
        let (r, mem) = jit(&mem_insns, &packet, &CompileOptions::new(prep));
        let ours = gen::regs_from_bytes(&mem);
        if linux != ours || r.as_ref().map(|r0| *r0 as u32) != Ok(out.retval) {
            return Err(TestCaseError::fail(format!(
                "JIT != Linux\n{}\ninput {input:#x?}\nlinux {linux:#x?} retval {:#x}\njit {ours:#x?} {r:?}",
                listing(&body.insns()),
                out.retval
            )));
        }
    }
    Ok(())
}

#[test]
fn generated_programs_agree_with_linux() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    for (name, cases, cfg) in [
        ("linux_straight_line", 1000, GenConfig::straight_line()),
        (
            "linux_forward_branching",
            1000,
            GenConfig::forward_branching(),
        ),
        ("linux_bounded_loops", 500, GenConfig::bounded_loops()),
    ] {
        run(name, cases, cfg, |b, i| check_kernel(&k, b, i));
    }
}
