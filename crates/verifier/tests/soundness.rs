//! Soundness property: every program the verifier accepts runs cleanly in
//! the checked interpreter (see `soundness/harness.rs` for what "cleanly"
//! means and how uninitialised reads are caught).
//!
//! Programs come from `testkit::gen::safety` (mostly valid code with maps,
//! packet parsing, spills and loops, and deliberate slips), half of them
//! perturbed further by `safety::mutate`. Bounded for CI; run longer with
//!
//! ```text
//! SOUNDNESS_CASES=200000 cargo test --release -p oxbpf-verifier --test soundness -- --nocapture
//! ```
//!
//! (`SOUNDNESS_SEED` picks another sequence.) Each run prints how many
//! programs were tried, accepted and executed. A failure prints the
//! minimised program, the verifier's level-2 log and the input.

#[path = "soundness/harness.rs"]
mod harness;

use harness::{check, report, Outcome};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::Cell;
use testkit::gen::safety::{mutate, program, Src};

#[derive(Default)]
struct Stats {
    tried: Cell<u64>,
    accepted: Cell<u64>,
    accepted_mutated: Cell<u64>,
    runs: Cell<u64>,
    unrunnable: Cell<u64>,
}

fn bump(c: &Cell<u64>, n: u64) {
    c.set(c.get() + n);
}

/// Generates, verifies and runs the program of `seed`; `Err` is a report.
fn one(seed: u64, stats: &Stats) -> Result<(), String> {
    let mut src = Src::seed(seed);
    let size = 4 + src.below(20) as u32;
    let p = program(&mut src, size);
    let mut raw = p
        .assemble()
        .unwrap_or_else(|e| panic!("generated program does not assemble: {e}\n{}", p.source()));
    let mutated = src.chance(50);
    if mutated {
        let n = 1 + src.below(3) as u32;
        mutate(&mut raw, &mut src, n);
    }
    bump(&stats.tried, 1);
    match check(p.prog_type, &p.maps, &raw, seed) {
        Ok(Outcome::Rejected(msg)) => {
            if std::env::var_os("SOUNDNESS_VERBOSE").is_some() && !mutated {
                eprintln!("rejected: {}", msg.lines().next().unwrap_or(""));
            }
        }
        Ok(Outcome::Passed { runs }) => {
            bump(&stats.accepted, 1);
            bump(&stats.accepted_mutated, mutated as u64);
            bump(&stats.runs, runs as u64);
        }
        Ok(Outcome::Unrunnable(_)) => {
            bump(&stats.accepted, 1);
            bump(&stats.unrunnable, 1);
        }
        Err(f) => {
            return Err(format!(
                "{}\n--- generated source ---\n{}",
                report(p.prog_type, &p.maps, &raw, seed, &f),
                p.source()
            ))
        }
    }
    Ok(())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `SOUNDNESS_REPLAY=SEED` runs the program of one seed (as printed by a
/// failure: `minimal failing input: SEED`) and prints its report.
#[test]
fn replay() {
    let Some(seed) = std::env::var("SOUNDNESS_REPLAY")
        .ok()
        .and_then(|v| v.parse().ok())
    else {
        return;
    };
    let stats = Stats::default();
    match one(seed, &stats) {
        Ok(()) => eprintln!(
            "seed {seed}: no finding ({} accepted)",
            stats.accepted.get()
        ),
        Err(report) => panic!("{report}"),
    }
}

#[test]
fn accepted_programs_run_cleanly() {
    let default = if cfg!(debug_assertions) { 600 } else { 20000 };
    let cases = env_u64("SOUNDNESS_CASES", default) as u32;
    let base = env_u64("SOUNDNESS_SEED", 0x5eed_f00d);
    let stats = Stats::default();
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &{
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&base.to_le_bytes());
            s
        }),
    );
    let result = runner.run(&proptest::num::u64::ANY, |seed| {
        one(seed, &stats).map_err(TestCaseError::fail)
    });
    eprintln!(
        "soundness: {} programs tried, {} accepted ({} of them mutated), {} checked runs, {} not runnable by the harness",
        stats.tried.get(),
        stats.accepted.get(),
        stats.accepted_mutated.get(),
        stats.runs.get(),
        stats.unrunnable.get()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator must keep producing accepted programs, or the property
    // says nothing.
    assert!(
        stats.accepted.get() * 4 >= stats.tried.get(),
        "too few programs accepted: {} of {}",
        stats.accepted.get(),
        stats.tried.get()
    );
}
