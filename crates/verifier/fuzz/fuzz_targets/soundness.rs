//! Soundness fuzzing: the fuzzer's bytes steer the program generator
//! (`testkit::gen::safety`) and the mutations; every program the verifier
//! accepts runs in the checked vm (`tests/soundness/harness.rs`, shared
//! with the property test). A crash is a verifier bug; its message holds
//! the minimised program, the verifier's log and the input.
//!
//! ```text
//! cd crates/verifier/fuzz && cargo +nightly fuzz run soundness -- -max_total_time=600
//! ```
//!
//! Every 10 000 programs a line on stderr says how many were tried and
//! accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicU64, Ordering};
use testkit::gen::safety::{mutate, program, Src};

#[path = "../../tests/soundness/harness.rs"]
mod harness;

static TRIED: AtomicU64 = AtomicU64::new(0);
static ACCEPTED: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let mut src = Src::bytes(data);
    let size = 4 + src.below(24) as u32;
    let p = program(&mut src, size);
    let Ok(mut raw) = p.assemble() else {
        panic!("generated program does not assemble:\n{}", p.source());
    };
    if src.chance(50) {
        let n = 1 + src.below(3) as u32;
        mutate(&mut raw, &mut src, n);
    }
    let seed = src.u64();
    let tried = TRIED.fetch_add(1, Ordering::Relaxed) + 1;
    match harness::check(p.prog_type, &p.maps, &raw, seed) {
        Ok(harness::Outcome::Rejected(_)) => {}
        Ok(_) => {
            ACCEPTED.fetch_add(1, Ordering::Relaxed);
        }
        Err(f) => panic!("{}", harness::report(p.prog_type, &p.maps, &raw, seed, &f)),
    }
    if tried % 10_000 == 0 {
        eprintln!(
            "soundness: {tried} programs tried, {} accepted",
            ACCEPTED.load(Ordering::Relaxed)
        );
    }
});
