//! Every case of the bpf_conformance suite (`testdata/conformance/cases.jsonl`,
//! the runner's own assembly of each `.data` file) on the interpreter, with
//! the plugin's conventions: r1 = memory, r2 = its length, helper 5 returns
//! its first argument, `callx` may name a helper by number.
//!
//! * every case of tests/ with a result must give it (also those the runner
//!   would skip for cpu version or group: we run them all); the one of
//!   negative/ with a result must not (its expected value is wrong on
//!   purpose);
//! * every `negative/unused-*` case must be refused by the decoder (its
//!   `raw_bytes_hex` sets a reserved field);
//! * a case with an expected error must fail, unless it needs the verifier
//!   (listed in `NEEDS_VERIFIER`, with the reason).

use oxbpf_vm::{helpers, HelperRegistry, Machine, PrepareError, PrepareOptions, Program};
use serde_json::Value;
use uapi::HelperId;

/// Negative cases whose refusal is the verifier's job, not the interpreter's.
const NEEDS_VERIFIER: &[(&str, &str)] = &[(
    "negative/error.data",
    "`or r0, r10` reads the uninitialised r0 and does arithmetic on the frame pointer",
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

fn registry() -> HelperRegistry {
    let mut r = HelperRegistry::new();
    r.register(HelperId(5), helpers::conformance_unwind);
    r
}

fn hex(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    Some(
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect(),
    )
}

fn run_case(c: &Value, helpers: &HelperRegistry) -> Result<u64, String> {
    let prog = hex(&c["program_hex"]).expect("program");
    let mut mem = hex(&c["memory_hex"]).unwrap_or_default();
    let opts = PrepareOptions {
        callx_helper_ids: true,
        ..PrepareOptions::new(helpers)
    };
    let p = Program::from_bytes(&prog, &opts).map_err(|e| e.to_string())?;
    let mut vm = Machine::new();
    vm.set_budget(100_000_000);
    vm.run_on_memory(&p, &mut mem).map_err(|e| e.to_string())
}

#[test]
fn every_conformance_case() {
    let helpers = registry();
    let mut failures = Vec::new();
    let (mut passed, mut refused) = (0, 0);
    for c in cases() {
        let name = c["name"].as_str().unwrap().to_string();
        if let Some(raw) = hex(&c["raw_bytes_hex"]) {
            // negative/unused-*: a reserved field is set; decoding refuses it.
            let opts = PrepareOptions::new(&helpers);
            match Program::from_bytes(&raw, &opts) {
                Err(PrepareError::Decode(_)) => refused += 1,
                other => failures.push(format!("{name}: not refused by the decoder: {other:?}")),
            }
            continue;
        }
        if c["program_hex"].as_str().is_none_or(str::is_empty) {
            continue; // assembler-level negatives: no bytes to run
        }
        let result = run_case(&c, &helpers);
        match (c["expected_error"].as_str(), result) {
            (None, Ok(r0)) => {
                let want = u64::from_str_radix(
                    c["runner_expected_return"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("0x"),
                    16,
                )
                .unwrap();
                // A negative case with a result states a wrong value on
                // purpose (the high bits of r0 must be compared).
                let negative = name.starts_with("negative/");
                if (r0 == want) != negative {
                    passed += 1;
                } else if negative {
                    failures.push(format!("{name}: r0 = {r0:#x} matches the wrong value"));
                } else {
                    failures.push(format!("{name}: r0 = {r0:#x}, expected {want:#x}"));
                }
            }
            (None, Err(e)) => failures.push(format!("{name}: error {e}")),
            (Some(_), Err(_)) => refused += 1,
            (Some(want), Ok(r0)) => {
                if !NEEDS_VERIFIER.iter().any(|(n, _)| *n == name) {
                    failures.push(format!(
                        "{name}: ran (r0 = {r0:#x}) but expected error {want}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed >= 300, "only {passed} cases ran");
    assert!(refused >= 44, "only {refused} negatives refused");
}
