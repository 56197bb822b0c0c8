//! The JIT and the interpreter agree on every program of the C corpus that
//! loads, of every type: packet programs on the repo's capture, the others
//! on generated contexts (`pt_regs`, tracepoint records, raw tracepoint
//! arguments, syscall arguments). Each engine runs in its own runtime, so
//! after the same runs both runtimes' maps must hold the same contents.
//!
//! Helpers whose answers differ between two runs by nature (clocks,
//! random numbers) make some values differ; those maps are listed below
//! with why and compared by keys only.

use oxbpf::{Engine, LoadOptions, ProgType, Runtime, RuntimeOptions, TestRunInput};

mod common;
use common::{capture, comparable, contents, packet_type, repo};

/// Deterministic context bytes for run `i`: small numbers and zeros, the
/// shapes tracing programs read (pids, fds, flags, pointers they probe).
fn context(i: u64, len: usize) -> Vec<u8> {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d;
    (0..len)
        .map(|_| {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            if z.is_multiple_of(3) {
                0
            } else {
                (z >> 24) as u8
            }
        })
        .collect()
}

#[test]
fn jit_and_interpreter_agree_on_the_corpus() {
    let packets = capture();
    let mk = |engine| {
        Runtime::with_options(RuntimeOptions {
            workers: 2,
            engine,
            trace: std::sync::Arc::new(oxbpf::MemoryTrace::default()),
        })
    };
    let (rt_jit, rt_interp) = (mk(Engine::Jit), mk(Engine::Interpreter));
    let mut names: Vec<_> = std::fs::read_dir(repo().join("corpus/obj"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    names.sort();
    let (mut progs, mut runs) = (0usize, 0usize);
    let mut diffs = Vec::new();
    for path in names {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if std::env::var("ENGINES_ONLY").is_ok_and(|o| !o.split(',').any(|x| x == stem)) {
            continue;
        }
        let (Ok(a), Ok(b)) = (
            rt_jit.load_file(&path, &LoadOptions::default()),
            rt_interp.load_file(&path, &LoadOptions::default()),
        ) else {
            continue;
        };
        for (pa, pb) in a.programs().iter().zip(b.programs()) {
            if pa.engine() != Engine::Jit {
                diffs.push(format!(
                    "{stem}::{}: the JIT cannot compile it: {}",
                    pa.name(),
                    pa.jit_error().unwrap_or_default()
                ));
                continue;
            }
            progs += 1;
            if std::env::var_os("ENGINES_VERBOSE").is_some() {
                eprintln!("{stem}::{}", pa.name());
            }
            let ty = pa.prog_type();
            let count = if packet_type(ty) { packets.len() } else { 64 };
            #[allow(clippy::needless_range_loop)] // `i` also seeds contexts
            for i in 0..count {
                let ctx;
                let input = if packet_type(ty) {
                    TestRunInput {
                        data_in: &packets[i],
                        data_size_out: Some(packets[i].len() as u32 + 4096),
                        ..Default::default()
                    }
                } else {
                    let len = match ty {
                        ProgType::RawTracepoint | ProgType::RawTracepointWritable => 96,
                        ProgType::Syscall => 64,
                        _ => 256,
                    };
                    ctx = context(i as u64, len);
                    TestRunInput {
                        ctx_in: Some(&ctx),
                        ..Default::default()
                    }
                };
                let ra = pa
                    .test_run_on(&input, Engine::Jit)
                    .map(|o| (o.r0, o.data_out, o.ctx_out))
                    .map_err(|e| e.errno());
                let rb = pb
                    .test_run_on(&input, Engine::Interpreter)
                    .map(|o| (o.r0, o.data_out, o.ctx_out))
                    .map_err(|e| e.errno());
                runs += 1;
                if ra != rb {
                    diffs.push(format!(
                        "{stem}::{} run {i}: JIT {:?}, interpreter {:?}",
                        pa.name(),
                        ra.as_ref().map(|r| r.0),
                        rb.as_ref().map(|r| r.0)
                    ));
                    break;
                }
            }
        }
        for (ma, mb) in a.maps().iter().zip(b.maps()) {
            let (x, y) = (
                comparable(&stem, ma.name(), ma.map_type(), contents(ma)),
                comparable(&stem, ma.name(), ma.map_type(), contents(mb)),
            );
            if x != y {
                diffs.push(format!(
                    "{stem}: map {} differs: JIT {} entries, interpreter {}",
                    ma.name(),
                    x.len(),
                    y.len()
                ));
            }
        }
    }
    eprintln!("{progs} programs, {runs} runs on both engines");
    assert!(
        progs > 40 || std::env::var_os("ENGINES_ONLY").is_some(),
        "only {progs} programs compared"
    );
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
