//! Every case of the bpf_conformance suite (`testdata/conformance/
//! cases.jsonl`) on the JIT and on the interpreter, with the plugin's
//! conventions (r1 = memory, r2 = its length, helper 5 returns its first
//! argument, `callx` may name a helper by number): both engines must give
//! the same r0, the same memory afterwards and the same error, and that r0
//! must be the expected one. Compiled with and without constant blinding,
//! and with and without BMI2 shifts.

use oxbpf_jit::{CompileOptions, JitProgram};
use serde_json::Value;
use uapi::HelperId;
use vm::{helpers, HelperRegistry, Machine, PrepareOptions, Program};

/// Cases whose result is a stack address (different in every engine and
/// run), with the reason; the verifier refuses them.
const ADDRESS_DEPENDENT: &[(&str, &str)] = &[(
    "negative/error.data",
    "`or r0, r10` returns bits of the frame pointer",
)];

fn cases() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/conformance/cases.jsonl"
    );
    std::fs::read_to_string(path)
        .expect("cases.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn hex(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What one engine did: r0 or the error text, and the memory after.
type Outcome = (Result<u64, String>, Vec<u8>);

fn interp(prog: &[u8], mem: &[u8], prep: &PrepareOptions<'_>) -> Outcome {
    let mut mem = mem.to_vec();
    let r = Program::from_bytes(prog, prep)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            let mut vm = Machine::new();
            vm.set_budget(100_000_000);
            vm.run_on_memory(&p, &mut mem).map_err(|e| e.to_string())
        });
    (r, mem)
}

fn jit(prog: &[u8], mem: &[u8], opts: &CompileOptions<'_>) -> Outcome {
    let mut mem = mem.to_vec();
    // SAFETY: the conformance programs access only their memory argument
    // and the stack, within bounds, and terminate (the interpreter's
    // checked run of the same program is compared alongside).
    let r = unsafe { JitProgram::from_bytes_trusted(prog, opts) }
        .map_err(|e| e.to_string())
        .and_then(|p| p.run_on_memory(&mut mem).map_err(|e| e.to_string()));
    (r, mem)
}

#[test]
fn every_conformance_case_agrees_with_the_interpreter() {
    let mut helpers = HelperRegistry::new();
    helpers.register(HelperId(5), helpers::conformance_unwind);
    let prep = PrepareOptions {
        callx_helper_ids: true,
        ..PrepareOptions::new(&helpers)
    };
    let variants = [(false, true), (true, true), (false, false), (true, false)];
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut expected_ok = 0;
    for c in cases() {
        let name = c["name"].as_str().unwrap_or("?").to_string();
        let Some(prog) = hex(&c["program_hex"]).filter(|p| !p.is_empty()) else {
            continue;
        };
        if ADDRESS_DEPENDENT.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mem = hex(&c["memory_hex"]).unwrap_or_default();
        let want = interp(&prog, &mem, &prep);
        // The interpreter is checked mode; a case it stops with a memory
        // error would be an out-of-bounds access for compiled code.
        if matches!(&want.0, Err(e) if e.contains("invalid memory")) {
            continue;
        }
        for (blind, bmi2) in variants {
            let opts = CompileOptions {
                blind_constants: blind,
                bmi2,
                ..CompileOptions::new(prep)
            };
            let got = jit(&prog, &mem, &opts);
            if got != want {
                failures.push(format!(
                    "{name} (blind={blind}, bmi2={bmi2}): jit {:?} / interpreter {:?}",
                    got, want
                ));
            }
        }
        compared += 1;
        let expected = c["runner_expected_return"]
            .as_str()
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
        if let (Some(e), Ok(r0), false) = (expected, &want.0, name.starts_with("negative/")) {
            if *r0 == e {
                expected_ok += 1;
            } else {
                failures.push(format!("{name}: r0 = {r0:#x}, expected {e:#x}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{compared} conformance programs agree on 4 JIT variants; {expected_ok} expected results"
    );
    assert!(
        compared >= 300 && expected_ok >= 300,
        "only {compared} cases compared"
    );
}
