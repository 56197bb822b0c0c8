//! Our JIT against rbpf's on programs nobody here wrote: every case of the
//! bpf_conformance suite (`testdata/conformance/cases.jsonl`, written by the
//! suite's authors) that rbpf 0.4's JIT can compile and that both JITs run
//! to the suite's expected result. Each program gets r1 = its memory (a
//! fresh 8-aligned copy per case), as the suite's plugins give it;
//! programs that call helpers (the suite's own conventions), are
//! expected to fail or test the runner itself (`negative/`) are left out.
//!
//! Per case: the median of 31 samples of thread CPU time, each sample
//! ~1 ms of back-to-back runs, for both JITs alternately. Prints one line
//! per case, then how many cases each JIT was faster on and the geometric
//! mean of the ratios (docs/BENCHMARKS.md quotes it).
//!
//! ```text
//! cargo bench -p oxbpf-jit --bench suite
//! ```

use oxbpf_jit::{CompileOptions, JitProgram};
use std::hint::black_box;
use std::time::Duration;
use vm::{HelperRegistry, PrepareOptions, RegionKind, RunEnv};

fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant Linux supports.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// ns per run of `f`: the median of 31 samples of `iters` runs.
fn median_ns(f: &mut dyn FnMut(), iters: u32) -> f64 {
    let mut v: Vec<f64> = (0..31)
        .map(|_| {
            let t = thread_cpu_now();
            for _ in 0..iters {
                f();
            }
            (thread_cpu_now() - t).as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/conformance/cases.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("cases.jsonl");
    let helpers = HelperRegistry::with_builtins();
    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let case: serde_json::Value = serde_json::from_str(line).expect("json");
        let name = case["name"]
            .as_str()
            .unwrap_or("?")
            .trim_start_matches("tests/");
        let name = name.trim_end_matches(".data").to_string();
        // `negative/` cases test a runner's checks, not an engine.
        if !case["expected_error"].is_null() || name.starts_with("negative/") {
            continue;
        }
        let Some(expected) = case["expected_result"]
            .as_str()
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        else {
            continue;
        };
        let prog = hex(case["program_hex"].as_str().unwrap_or(""));
        // Helper calls follow the suite's conventions, not the kernel's.
        if prog.chunks(8).any(|i| i[0] == 0x85 || i[0] == 0x8d) {
            skipped.push((name, "calls"));
            continue;
        }
        let mem = hex(case["memory_hex"].as_str().unwrap_or(""));

        // Ours: the suite's memory in an 8-aligned buffer, set up once.
        // SAFETY: the conformance programs access only their memory and
        // the stack, within bounds, and terminate; the conformance test
        // (tests/conformance.rs) runs each on the checked interpreter.
        let Ok(jit) = (unsafe { JitProgram::from_bytes_trusted(&prog, &opts) }) else {
            skipped.push((name, "ours does not compile"));
            continue;
        };
        let mut buf = vec![0u64; mem.len().div_ceil(8).max(1)];
        // SAFETY: `buf` holds at least `mem.len()` bytes, u8 has no
        // alignment or validity requirements.
        let ours_mem =
            unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), mem.len()) };
        ours_mem.copy_from_slice(&mem);
        let mut env = RunEnv::new();
        let len = mem.len() as u64;
        let addr = if mem.is_empty() {
            0
        } else {
            env.add_region(ours_mem, RegionKind::Context)
        };
        if jit.run(&mut env, &[addr, len]) != Ok(expected) {
            skipped.push((name, "ours differs"));
            continue;
        }

        // rbpf: the raw VM gives r1 = the memory.
        let Ok(mut rb) = rbpf::EbpfVmRaw::new(Some(&prog)) else {
            skipped.push((name, "rbpf refuses it"));
            continue;
        };
        // rbpf's JIT panics on some instructions it does not know.
        let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rb.jit_compile()));
        if !matches!(compiled, Ok(Ok(()))) {
            skipped.push((name, "rbpf's JIT cannot compile it"));
            continue;
        }
        let mut rb_mem = mem.clone();
        // SAFETY: rbpf runs the program over its own copy of the memory.
        if unsafe { rb.execute_program_jit(&mut rb_mem) }.ok() != Some(expected) {
            skipped.push((name, "rbpf's result differs"));
            continue;
        }
        let mut run_ours = || {
            black_box(jit.run(&mut env, black_box(&[addr, len])).ok());
        };
        // Both run on memory their earlier runs may have written: timing
        // only, results were checked above.
        let mut run_rbpf = || {
            // SAFETY: as above.
            black_box(unsafe { rb.execute_program_jit(black_box(&mut rb_mem)) }.ok());
        };
        // ~1 ms per sample, from a first estimate on ours.
        let t = thread_cpu_now();
        for _ in 0..1000 {
            run_ours();
        }
        let per = (thread_cpu_now() - t).as_nanos() as f64 / 1000.0;
        let iters = (1e6 / per.max(1.0)).clamp(100.0, 1e6) as u32;
        // Alternate, so that both see the same machine.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            a.push(median_ns(&mut run_ours, iters));
            b.push(median_ns(&mut run_rbpf, iters));
        }
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        rows.push((name, prog.len() / 8, a[1], b[1]));
    }

    println!("## bpf_conformance programs: ns per run (median), our JIT vs rbpf's JIT\n");
    println!("| case | insns | oxbpf JIT | rbpf JIT | oxbpf / rbpf |");
    println!("|---|---:|---:|---:|---:|");
    for (name, n, ours, theirs) in &rows {
        println!(
            "| {name} | {n} | {ours:.1} | {theirs:.1} | {:.2} |",
            ours / theirs
        );
    }
    let ratios: Vec<f64> = rows.iter().map(|r| r.2 / r.3).collect();
    let faster = ratios.iter().filter(|&&r| r < 1.0).count();
    let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len().max(1) as f64).exp();
    let worst = rows
        .iter()
        .max_by(|x, y| (x.2 / x.3).total_cmp(&(y.2 / y.3)));
    println!(
        "\n{} programs: ours faster on {faster}, geometric mean oxbpf / rbpf {geo:.2}",
        rows.len()
    );
    if let Some((name, _, o, t)) = worst {
        println!("closest: {name} ({o:.1} vs {t:.1} ns, {:.2})", o / t);
    }
    let mut why: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (name, reason) in &skipped {
        why.entry(reason).or_default().push(name);
    }
    for (reason, names) in why {
        println!("left out, {reason}: {} ({})", names.len(), names.join(", "));
    }
}
