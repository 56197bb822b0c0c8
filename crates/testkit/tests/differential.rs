//! Differential test: generated programs on Linux, on oxbpf's interpreter
//! (`oxbpf-vm`, checked mode) and on its JIT (`oxbpf-jit`, plain and with
//! constant blinding), compared on the whole register file.
//!
//! # How the kernel's result is read
//! `BPF_PROG_TEST_RUN` reports `retval` as a `__u32`: the low half of `r0`
//! only. Rather than running each program twice (once with `r0 >>= 32`
//! appended), each generated body is wrapped in an XDP harness
//! (`gen::xdp_program`): the 80-byte packet carries the ten input registers,
//! the prologue loads them, the epilogue stores all ten final registers back
//! into the packet, and `data_out` returns them. So one run yields the full
//! 64 bits of `r0`–`r9`, and `retval` must equal the low half of `r0` on top.
//! XDP because its `test_run` takes a packet and hands it back rewritten,
//! and the verifier puts no range on its return value. The interpreter runs
//! the same body in the plain-memory harness (`gen::mem_program`, buffer in
//! `r1`), in checked mode.
//!
//! Inputs in the packet are unknown to the verifier, so it explores both
//! sides of every branch; one test prepends constant initialisations to
//! the body as well, so the verifier's constant tracking and dead-branch
//! rewrites are exercised too.
//!
//! # Scale
//! Case counts per test are below (a few thousand programs in all, each run
//! on several inputs); `PROPTEST_CASES=N` runs N cases per test instead.
//! A kernel rejection is a generator bug and fails the test with the log.

use isa::{AluOp, Insn, Width};
use jit::{CompileOptions, JitProgram};
use oxbpf_testkit::gen::{self, Body, GenConfig, Stmt};
use oxbpf_testkit::kernel::{ProgLoad, TestRun};
use oxbpf_testkit::listing::listing;
use oxbpf_testkit::{require_kernel, Kernel};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use std::cell::RefCell;
use std::fmt::Write;
use uapi::ProgType;
use vm::{HelperRegistry, Machine, PrepareOptions, Program};

/// Cases for one test: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default_cases: u32) -> Config {
    let mut c = Config {
        cases: cases(default_cases),
        // No regression files in the source tree: a failure prints a
        // minimal program that reproduces it on its own.
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    // ChaCha, the default, is slow in debug builds.
    if std::env::var_os("PROPTEST_RNG_ALGORITHM").is_none() {
        c.rng_algorithm = RngAlgorithm::XorShift;
    }
    // A seed we know, so that a failure can name it for a re-run.
    if c.rng_seed == RngSeed::Random {
        use std::hash::{BuildHasher, Hasher};
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        c.rng_seed = RngSeed::Fixed(seed);
    }
    c
}

/// How to re-run a failed test with the same programs.
fn rerun_hint(c: &Config) -> String {
    match c.rng_seed {
        RngSeed::Fixed(seed) => format!(
            "re-run with PROPTEST_RNG_SEED={seed} PROPTEST_CASES={}",
            c.cases
        ),
        RngSeed::Random => String::new(),
    }
}

/// What one engine computed for one input.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    regs: [u64; 10],
    /// The kernel's `retval` (low half of `r0`); `None` for the interpreter,
    /// which returns all of `r0`.
    retval: Option<u32>,
}

/// The kernel side: load the XDP-wrapped body (a rejection is a generator
/// bug) and run it once per input.
fn run_kernel(k: &Kernel, insns: &[Insn], inputs: &[[u64; 10]]) -> Result<Vec<Outcome>, String> {
    let raw = isa::encode_program(insns);
    let prog = k
        .load_prog(&ProgLoad::new(ProgType::Xdp, &raw).name("tk_diff"))
        .map_err(|e| format!("GENERATOR BUG: the kernel verifier rejected a generated program:\n{e}\nprogram:\n{}", listing(insns)))?;
    inputs
        .iter()
        .map(|input| {
            let packet = gen::regs_to_bytes(input);
            let out = prog
                .test_run(&TestRun::with_data(&packet))
                .map_err(|e| format!("test run failed: {e}"))?;
            let regs = gen::regs_from_bytes(&out.data_out)
                .ok_or_else(|| format!("short data_out: {:?}", out.data_out))?;
            Ok(Outcome {
                regs,
                retval: Some(out.retval),
            })
        })
        .collect()
}

/// The interpreter side, checked mode, over the 80-byte register buffer.
fn run_vm(
    machine: &mut Machine,
    insns: &[Insn],
    inputs: &[[u64; 10]],
) -> Result<Vec<Outcome>, String> {
    let helpers = HelperRegistry::with_builtins();
    let prog = Program::prepare(insns, &PrepareOptions::new(&helpers))
        .map_err(|e| format!("interpreter refused the program: {e}"))?;
    inputs
        .iter()
        .map(|input| {
            let mut mem = gen::regs_to_bytes(input);
            let r0 = machine
                .run_on_memory(&prog, &mut mem)
                .map_err(|e| format!("interpreter error: {e}"))?;
            let regs = gen::regs_from_bytes(&mem).unwrap_or_default();
            if r0 != regs[0] {
                return Err(format!(
                    "harness broken: returned r0 {r0:#x} but stored {:#x}",
                    regs[0]
                ));
            }
            Ok(Outcome { regs, retval: None })
        })
        .collect()
}

/// The JIT side, in two variants: as a host would run it (BMI2 shifts
/// where the CPU has them) and hardened (constants blinded, `cl` shifts).
fn run_jit(insns: &[Insn], inputs: &[[u64; 10]], blind: bool) -> Result<Vec<Outcome>, String> {
    let helpers = HelperRegistry::with_builtins();
    let mut opts = CompileOptions::new(PrepareOptions::new(&helpers));
    if blind {
        opts.blind_constants = true;
        opts.bmi2 = false;
    }
    // SAFETY: `check` calls this only for a body the kernel verifier just
    // accepted (in the XDP harness: scalar code, bounded loops) and that
    // the checked interpreter ran on these inputs without a memory error;
    // the plain-memory harness around it touches only the 80 bytes that
    // `run_on_memory` provides and the stack slots fp-8 and fp-16.
    let prog = unsafe { JitProgram::compile_trusted(insns, &opts) }
        .map_err(|e| format!("JIT refused the program: {e}"))?;
    inputs
        .iter()
        .map(|input| {
            let mut mem = gen::regs_to_bytes(input);
            prog.run_on_memory(&mut mem)
                .map_err(|e| format!("JIT error: {e}"))?;
            let regs = gen::regs_from_bytes(&mem).unwrap_or_default();
            Ok(Outcome { regs, retval: None })
        })
        .collect()
}

fn describe(
    body: &Body,
    input: &[u64; 10],
    kernel: &Outcome,
    engine: &str,
    got: &Outcome,
) -> String {
    let mut s = format!(
        "DISAGREEMENT between Linux and {engine}\n\
         body (the harness loads r0-r9 from the input before it and stores them after):\n"
    );
    s.push_str(&listing(&body.insns()));
    let _ = writeln!(
        s,
        "register  input               linux               {engine}"
    );
    let rows = input.iter().zip(&kernel.regs).zip(&got.regs).enumerate();
    for (r, ((i, k), v)) in rows {
        let mark = if k != v { "  <-- differs" } else { "" };
        let _ = writeln!(s, "r{r:<8} {i:#018x}  {k:#018x}  {v:#018x}{mark}");
    }
    if let Some(rv) = kernel.retval {
        let _ = writeln!(
            s,
            "linux retval {rv:#010x}, low half of its r0 {:#010x}",
            kernel.regs[0] as u32
        );
    }
    s
}

/// Rewrites the body the interpreter runs; the identity except in the
/// planted-bug self-test.
type VmPlant = fn(&Body) -> Body;

fn unchanged(b: &Body) -> Body {
    b.clone()
}

/// Runs one body on Linux, the interpreter and the JIT, and compares every
/// register. `plant` changes what the interpreter runs (self-test only).
fn check(
    k: &Kernel,
    machine: &mut Machine,
    body: &Body,
    inputs: &[[u64; 10]],
    plant: VmPlant,
) -> Result<(), String> {
    let kernel = run_kernel(k, &gen::xdp_program(body), inputs)?;
    let with_listing = |e: String| format!("{e}\nbody:\n{}", listing(&body.insns()));
    let mem_prog = gen::mem_program(body);
    let engines = [
        (
            "oxbpf-vm",
            run_vm(machine, &gen::mem_program(&plant(body)), inputs).map_err(with_listing)?,
        ),
        (
            "oxbpf-jit",
            run_jit(&mem_prog, inputs, false).map_err(with_listing)?,
        ),
        (
            "oxbpf-jit (blinded, no BMI2)",
            run_jit(&mem_prog, inputs, true).map_err(with_listing)?,
        ),
    ];
    for (i, (input, kv)) in inputs.iter().zip(&kernel).enumerate() {
        if kv.retval != Some(kv.regs[0] as u32) {
            return Err(format!(
                "KERNEL-HARNESS retval is not r0's low half: {kv:?}"
            ));
        }
        for (name, outcomes) in &engines {
            if outcomes[i].regs != kv.regs {
                return Err(describe(body, input, kv, name, &outcomes[i]));
            }
        }
    }
    Ok(())
}

/// The kind of a failure message (its first word), so minimisation keeps
/// looking for the same failure and not another one it runs into.
fn failure_kind(why: &str) -> &str {
    why.split_whitespace().next().unwrap_or("")
}

/// Inputs per program: the verifier work is paid once per load, runs are cheap.
fn inputs() -> impl Strategy<Value = Vec<[u64; 10]>> {
    prop::collection::vec(gen::reg_file(), 1..=4)
}

/// Runs `cases` generated bodies through both engines; panics with the
/// minimal disagreement.
fn differential(
    name: &str,
    default_cases: u32,
    strategy: impl Strategy<Value = (Body, Vec<[u64; 10]>)>,
) {
    let Some(k) = require_kernel() else { return };
    let started = std::time::Instant::now();
    let config = config(default_cases);
    let (cases, hint) = (config.cases, rerun_hint(&config));
    match run_differential(&k, config, strategy, unchanged) {
        Ok(()) => eprintln!("{name}: {cases} programs agree ({:.1?})", started.elapsed()),
        Err(f) => panic!(
            "{name}: {}\nminimal input: {:#x?}\nminimal body tree: {:?}\n{hint}",
            f.why, f.input, f.body
        ),
    }
}

type Case = (Body, Vec<[u64; 10]>);

/// A minimised failure.
#[derive(Debug)]
struct Failure {
    why: String,
    body: Body,
    input: [u64; 10],
}

/// Runs the property; on failure, after proptest's shrinking, minimises
/// further with `gen::minimize` (see there for why).
fn run_differential(
    k: &Kernel,
    config: Config,
    strategy: impl Strategy<Value = Case>,
    plant: VmPlant,
) -> Result<(), Box<Failure>> {
    let machine = RefCell::new(Machine::new());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |(body, inputs)| {
        check(k, &mut machine.borrow_mut(), &body, &inputs, plant).map_err(TestCaseError::fail)
    });
    let (why, body, inputs) = match result {
        Ok(()) => return Ok(()),
        Err(TestError::Fail(why, (body, inputs))) => (why.to_string(), body, inputs),
        Err(TestError::Abort(why)) => {
            let body = Body { stmts: Vec::new() };
            return Err(Box::new(Failure {
                why: format!("aborted: {why}"),
                body,
                input: [0; 10],
            }));
        }
    };
    let mut m = machine.borrow_mut();
    let kind = failure_kind(&why).to_string();
    let mut fails = |b: &Body, i: &[u64; 10]| {
        check(k, &mut m, b, std::slice::from_ref(i), plant).is_err_and(|w| failure_kind(&w) == kind)
    };
    let input = inputs
        .iter()
        .copied()
        .find(|i| fails(&body, i))
        .unwrap_or(inputs[0]);
    let (body, input) = gen::minimize(body, input, &mut fails);
    let why = check(k, &mut m, &body, &[input], plant)
        .err()
        .unwrap_or(why);
    Err(Box::new(Failure { why, body, input }))
}

/// The test can fail: plant a bug in what the interpreter runs (signed
/// 64-bit division by a register computed as unsigned) and check that the
/// disagreement is found and shrunk to a one-instruction body.
#[test]
fn a_planted_interpreter_bug_is_found_and_shrunk() {
    let Some(k) = require_kernel() else { return };
    fn plant(b: &Body) -> Body {
        fn walk(stmts: &[Stmt]) -> Vec<Stmt> {
            stmts
                .iter()
                .map(|s| match s {
                    Stmt::Op(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::SDiv,
                        dst,
                        src,
                    }) => Stmt::Op(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Div,
                        dst: *dst,
                        src: *src,
                    }),
                    Stmt::IfElse {
                        cond,
                        then_,
                        else_,
                        long,
                    } => Stmt::IfElse {
                        cond: *cond,
                        then_: walk(then_),
                        else_: walk(else_),
                        long: *long,
                    },
                    other => other.clone(),
                })
                .collect()
        }
        Body {
            stmts: walk(&b.stmts),
        }
    }
    let mut cfg = config(400);
    cfg.cases = 400; // not scaled by PROPTEST_CASES: it must find the bug
    let strategy = (gen::body(GenConfig::forward_branching()), inputs());
    let failure = run_differential(&k, cfg, strategy, plant).expect_err("planted bug not found");
    assert!(failure.why.contains("DISAGREEMENT"), "{}", failure.why);
    assert!(
        failure.why.contains("s/="),
        "listing names the sdiv: {}",
        failure.why
    );
    assert_eq!(
        failure.body.slots(),
        1,
        "not minimised to one instruction: {}",
        failure.why
    );
    // Registers the one instruction does not read are zeroed.
    let nonzero = failure.input.iter().filter(|&&r| r != 0).count();
    assert!(nonzero <= 2, "{failure:?}");
}

/// The harnesses really run the body and report every register: `r3 += 5`
/// changes r3 alone, on both engines.
#[test]
fn harness_reports_every_register() {
    let Some(k) = require_kernel() else { return };
    let body = Body {
        stmts: vec![Stmt::Op(Insn::Alu {
            width: Width::W64,
            op: AluOp::Add,
            dst: isa::Reg::R3,
            src: isa::Operand::Imm(5),
        })],
    };
    let input: [u64; 10] = std::array::from_fn(|i| 0x1111_1111_1111_1111 * i as u64 + 7);
    let mut want = input;
    want[3] += 5;
    let kernel = run_kernel(&k, &gen::xdp_program(&body), &[input]).unwrap();
    assert_eq!(kernel[0].regs, want);
    assert_eq!(kernel[0].retval, Some(7));
    let vm = run_vm(&mut Machine::new(), &gen::mem_program(&body), &[input]).unwrap();
    assert_eq!(vm[0].regs, want);
    // A packet too short for the registers is refused by the prologue.
    let raw = isa::encode_program(&gen::xdp_program(&body));
    let prog = k.load_prog(&ProgLoad::new(ProgType::Xdp, &raw)).unwrap();
    let out = prog.test_run(&TestRun::with_data(&[0xaa; 64])).unwrap();
    assert_eq!((out.retval, out.data_out), (0, vec![0xaa; 64]));
}

#[test]
fn straight_line_programs_agree_with_linux() {
    differential(
        "straight_line",
        1500,
        (gen::body(GenConfig::straight_line()), inputs()),
    );
}

#[test]
fn forward_branching_programs_agree_with_linux() {
    differential(
        "forward_branching",
        2500,
        (gen::body(GenConfig::forward_branching()), inputs()),
    );
}

#[test]
fn bounded_loop_programs_agree_with_linux() {
    differential(
        "bounded_loops",
        1000,
        (gen::body(GenConfig::bounded_loops()), inputs()),
    );
}

/// Bodies that start by setting registers to constants, so the verifier
/// tracks exact values, decides branches and rewrites dead ones; and the
/// self-contained form other crates use (`ScalarProgram::insns`) must load
/// and return the same `r0`.
#[test]
fn constant_programs_agree_with_linux() {
    let strategy = gen::forward_program().prop_map(|p| {
        let mut stmts: Vec<Stmt> = gen::init_insns(&p.init).into_iter().map(Stmt::Op).collect();
        stmts.extend(p.body.stmts.iter().cloned());
        let input = [0u64; 10];
        (Body { stmts }, vec![input])
    });
    differential("constant_init", 1000, strategy);
}

#[test]
fn self_contained_programs_load_and_agree_on_r0() {
    let Some(k) = require_kernel() else { return };
    let machine = RefCell::new(Machine::new());
    let helpers = HelperRegistry::with_builtins();
    let config = config(500);
    let hint = rerun_hint(&config);
    let mut runner = TestRunner::new(config);
    let strategy = prop_oneof![
        gen::straight_line_program(),
        gen::forward_program(),
        gen::loop_program()
    ];
    let result = runner.run(&strategy, |p| {
        let insns = p.insns();
        let raw = isa::encode_program(&insns);
        let prog = k
            .load_prog(&ProgLoad::new(ProgType::Xdp, &raw))
            .map_err(|e| {
                TestCaseError::fail(format!(
                    "GENERATOR BUG: rejected:\n{e}\nprogram:\n{}",
                    listing(&insns)
                ))
            })?;
        let out = prog
            .test_run(&TestRun::with_data(&[0u8; 64]))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let vprog = Program::prepare(&insns, &PrepareOptions::new(&helpers))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r0 = machine
            .borrow_mut()
            .run_on_memory(&vprog, &mut [])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if out.retval != r0 as u32 {
            return Err(TestCaseError::fail(format!(
                "DISAGREEMENT: linux retval {:#x}, oxbpf-vm r0 {r0:#x}\nprogram:\n{}",
                out.retval,
                listing(&insns)
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{hint}");
    }
}
