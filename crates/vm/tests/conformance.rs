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

/// One `.data` file split as the runner splits it (PROTOCOL.md §3).
#[derive(Default, Debug)]
struct DataFile {
    asm: Option<String>,
    raw: Option<String>,
    mem: Option<String>,
    result: Option<String>,
    error: Option<String>,
    /// A `--` line naming no section the runner knows.
    unknown_directive: bool,
}

fn parse_data(text: &str) -> DataFile {
    let mut f = DataFile::default();
    let mut section: Option<&str> = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        if line.contains("--") {
            // The runner picks the section by substring, in this order.
            section = [
                "asm",
                "result",
                "mem",
                "raw",
                "no register offset",
                " c",
                "error",
            ]
            .into_iter()
            .find(|s| line.contains(s));
            if section.is_none() {
                f.unknown_directive = true;
            }
            continue;
        }
        let slot = match section {
            Some("asm") => &mut f.asm,
            Some("raw") => &mut f.raw,
            Some("mem") => &mut f.mem,
            Some("result") => &mut f.result,
            Some("error") => &mut f.error,
            _ => continue,
        };
        let s = slot.get_or_insert_with(String::new);
        s.push_str(line);
        s.push('\n');
    }
    f
}

fn last_line(s: &Option<String>) -> Option<&str> {
    s.as_deref()?
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
}

/// Bytes of the program: `-- raw` tokens are whole 64-bit instructions (as
/// the runner reads them), `-- asm` goes through our conformance assembler.
fn data_program(f: &DataFile) -> Result<Vec<u8>, String> {
    if let Some(raw) = &f.raw {
        return raw
            .split_whitespace()
            .map(|t| match t.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => t.parse(),
            })
            .map(|v| v.map(u64::to_le_bytes).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.concat());
    }
    isa::asm::assemble_bytes(
        f.asm.as_deref().unwrap_or(""),
        isa::asm::Syntax::Conformance,
    )
    .map_err(|e| format!("assembler: {e}"))
}

fn run_bytes(code: &[u8], mem: &Option<String>, helpers: &HelperRegistry) -> Result<u64, String> {
    let mut mem: Vec<u8> = mem
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(|t| u64::from_str_radix(t, 16).map(|v| v as u8))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let opts = PrepareOptions {
        callx_helper_ids: true,
        ..PrepareOptions::new(helpers)
    };
    let p = Program::from_bytes(code, &opts).map_err(|e| format!("prepare: {e}"))?;
    let mut vm = Machine::new();
    vm.set_budget(100_000_000);
    vm.run_on_memory(&p, &mut mem)
        .map_err(|e| format!("run: {e}"))
}

fn data_files(dir: &str) -> Vec<(String, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/conformance/");
    let mut v: Vec<(String, String)> = std::fs::read_dir(format!("{root}{dir}"))
        .expect("conformance dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .map(|p| {
            let name = format!("{dir}/{}", p.file_name().unwrap().to_string_lossy());
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn expected_value(s: &str) -> u64 {
    match s.find("0x") {
        Some(i) => u64::from_str_radix(&s[i + 2..], 16).unwrap(),
        None => s
            .parse::<i64>()
            .map(|v| v as u64)
            .or_else(|_| s.parse())
            .unwrap(),
    }
}

/// Every `tests/*.data`, assembled by our assembler from its source and run:
/// each gives its `-- result`.
#[test]
fn every_positive_data_file_assembled_and_run() {
    let helpers = registry();
    let mut failures = Vec::new();
    let files = data_files("tests");
    for (name, text) in &files {
        let f = parse_data(text);
        let want = expected_value(last_line(&f.result).expect("result"));
        match data_program(&f).and_then(|code| run_bytes(&code, &f.mem, &helpers)) {
            Ok(r0) if r0 == want => {}
            Ok(r0) => failures.push(format!("{name}: r0 = {r0:#x}, expected {want:#x}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(files.len() >= 300, "only {} files", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `negative/*.data` is refused by the part it targets: the decoder
/// (reserved fields of `unused-*`, whose `-- raw` tokens are bytes), the
/// assembler (syntax errors), the file parser (unknown directive),
/// preparation (no instructions), or the run; the one with a wrong
/// `-- result` must not produce it.
#[test]
fn every_negative_data_file_is_refused_where_it_should_be() {
    let helpers = registry();
    let mut failures = Vec::new();
    let files = data_files("negative");
    for (name, text) in &files {
        let f = parse_data(text);
        if f.unknown_directive {
            continue; // refused by the file parser (the runner skips it)
        }
        if name.starts_with("negative/unused-") {
            let raw = f.raw.as_deref().expect("raw bytes");
            let bytes: Vec<u8> = raw
                .split_whitespace()
                .map(|t| u8::from_str_radix(t, 16).unwrap())
                .collect();
            match Program::from_bytes(&bytes, &PrepareOptions::new(&helpers)) {
                Err(PrepareError::Decode(_)) => {}
                other => failures.push(format!("{name}: decoder accepted it: {other:?}")),
            }
            continue;
        }
        let outcome = data_program(&f).and_then(|code| run_bytes(&code, &f.mem, &helpers));
        // Which part must refuse it, by the file's name.
        let by = if name.starts_with("negative/invalid_") {
            "assembler:"
        } else if name.starts_with("negative/empty") {
            "prepare: empty program"
        } else {
            ""
        };
        match (outcome, last_line(&f.result)) {
            (Err(e), _) if e.starts_with(by) => {}
            (Err(e), _) => failures.push(format!("{name}: refused by the wrong part: {e}")),
            (Ok(r0), Some(wrong)) if r0 != expected_value(wrong) => {}
            (Ok(_), _) if NEEDS_VERIFIER.iter().any(|(n, _)| n == name) => {}
            (Ok(r0), _) => failures.push(format!("{name}: accepted, r0 = {r0:#x}")),
        }
    }
    assert!(files.len() >= 60, "only {} files", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
