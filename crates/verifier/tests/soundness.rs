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

use harness::{check, execute, report, Outcome};
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
    let t0 = std::time::Instant::now();
    let outcome = check(p.prog_type, &p.maps, &raw, seed);
    if std::env::var_os("SOUNDNESS_VERBOSE").is_some() && t0.elapsed().as_millis() > 100 {
        let what = match &outcome {
            Ok(Outcome::Rejected(m)) => format!("rejected: {}", m.lines().next().unwrap_or("")),
            Ok(o) => format!("{o:?}"),
            Err(f) => f.what.clone(),
        };
        eprintln!("slow: seed {seed} took {:?} ({what})", t0.elapsed());
    }
    match outcome {
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

/// The harness must be able to fail: unsafe programs, run without the
/// verifier (in the runtime's context layout), are caught every time.
#[test]
fn harness_catches_unsafe_programs() {
    use testkit::gen::safety::SafetyMap;
    use uapi::{MapType, ProgType};
    let maps = [
        SafetyMap {
            map_type: MapType::Array,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
        },
        SafetyMap {
            map_type: MapType::Hash,
            key_size: 4,
            value_size: 8,
            max_entries: 8,
        },
        SafetyMap {
            map_type: MapType::Ringbuf,
            key_size: 0,
            value_size: 0,
            max_entries: 4096,
        },
    ];
    let cases = [
        // Packet read far past any generated packet (kern xdp: data at 0).
        (
            "memory",
            "r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 200)\nexit",
        ),
        // The byte at data_end (taken when the packet is short).
        (
            "memory",
            "r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\nr4 = r2\nr4 += 200\n\
             if r4 > r3 goto out\nr0 = 0\nexit\nout:\nr0 = *(u8 *)(r3 + 0)\nexit",
        ),
        // Map value read one past value_size.
        (
            "memory",
            "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 0\ncall 1\n\
             if r0 == 0 goto out\nr0 = *(u8 *)(r0 + 8)\nout:\nexit",
        ),
        // No null check, key never present.
        (
            "memory",
            "*(u32 *)(r10 - 4) = 1000\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\n\
             r0 = *(u64 *)(r0 + 0)\nexit",
        ),
        // Stale stack in the result.
        ("uninit", "r0 = *(u64 *)(r10 - 16)\nexit"),
        // Misaligned atomic.
        (
            "misaligned",
            "r1 = 1\nlock *(u64 *)(r10 - 12) += r1\nr0 = 0\nexit",
        ),
        // Endless loop.
        ("budget", "r0 = 0\nl:\nr0 += 1\ngoto l"),
        // A ring buffer record never submitted.
        (
            "leak",
            "ld_pseudo r1, 1, 2\nr2 = 8\nr3 = 0\ncall 131\nr0 = 0\nexit",
        ),
        // Helper given a key pointer outside any region.
        (
            "helper",
            "r2 = 4096\nld_pseudo r1, 1, 0\ncall 1\nr0 = 0\nexit",
        ),
    ];
    for (kind, text) in cases {
        let raw = isa::asm::assemble(text, isa::asm::Syntax::Llvm).expect("assemble");
        match execute(ProgType::Xdp, &maps, &raw, 1) {
            Err(f) => assert_eq!(f.kind, kind, "{text}: {}", f.what),
            Ok(o) => panic!("not caught ({o:?}):\n{text}"),
        }
    }
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
