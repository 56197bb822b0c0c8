//! Verification time, oxbpf against the running kernel, on every program of
//! the C corpus (`corpus/obj/*.o`) that both accept.
//!
//! ```text
//! cargo bench -p oxbpf-verifier --bench vs_kernel            # as root for the kernel column
//! VS_KERNEL_RUNS=21 cargo bench -p oxbpf-verifier --bench vs_kernel -- tc_dnat
//! ```
//!
//! Ours: the median wall time of `VS_KERNEL_RUNS` (default 11) calls of
//! [`oxbpf_verifier::verify`] with no log, after one warm-up call. The
//! kernel's: the median of as many `BPF_PROG_LOAD`s of its own
//! `verification time N usec` (log level `BPF_LOG_STATS`), which times
//! `bpf_check()` alone — not the syscall, map lookups or JIT. Programs are
//! loaded as `tests/corpus.rs` verifies them (maps by index there, real
//! maps created here and their fds patched in; no BTF, so programs that
//! need it — global functions, spin locks, BTF-typed attach points — get no
//! kernel time and are listed as such).
//!
//! The last column is kernel time / our time (above 1: we are faster);
//! the geometric mean over all programs with both times closes the table.
//! An argument filters programs by substring. Not a criterion bench: the
//! kernel's number is in whole microseconds and cannot be iterated inside
//! a criterion loop, so both sides use the same median-of-N method.

use oxbpf_verifier::{verify, MapMeta, Options, Request};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;
use testkit::kernel::{LogLevel, MapCreate, ProgLoad};
use testkit::Kernel;

struct Row {
    name: String,
    slots: usize,
    ours_processed: u64,
    ours_us: f64,
    kernel: Result<(u64, f64), String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn meta(m: &object::MapSpec) -> MapMeta {
    let mut mm = MapMeta::new(m.map_type, m.key_size, m.value_size, m.max_entries);
    mm.flags = m.flags;
    mm.frozen = m.freeze;
    mm.name = m.kernel_name();
    mm.inner = m.inner.as_deref().map(|i| Box::new(meta(i)));
    // What the loader put in a frozen data map (`.rodata`, `.kconfig`): the
    // kernel reads it while verifying, and so do we.
    if m.freeze {
        mm.data = m.data.clone();
    }
    mm
}

/// Creates the object's maps in the kernel (data sections filled and
/// frozen as libbpf does), in spec order.
fn kernel_maps(k: &Kernel, spec: &object::ObjectSpec) -> Result<Vec<testkit::kernel::Map>, String> {
    let mut out = Vec::new();
    for m in &spec.maps {
        let inner = match &m.inner {
            Some(i) => {
                let mut c = MapCreate::new(i.map_type, i.key_size, i.value_size, i.max_entries);
                c.map_flags = i.flags;
                Some(
                    k.create_map(&c)
                        .map_err(|e| format!("inner map of {}: {e}", m.name))?,
                )
            }
            None => None,
        };
        let name = m.kernel_name();
        let (ks, vs, max) = libbpf_sizes(m);
        let mut c = MapCreate::new(m.map_type, ks, vs, max);
        c.map_flags = m.flags;
        c.map_extra = m.map_extra;
        c.inner_map_fd = inner.as_ref().map(|i| i.fd());
        if name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            c.name = &name;
        }
        let map = k
            .create_map(&c)
            .map_err(|e| format!("map {}: {e}", m.name))?;
        if let Some(data) = &m.data {
            let _ = map.update(&0u32.to_le_bytes(), data, 0);
        }
        if m.freeze {
            let _ = map.freeze();
        }
        out.push(map);
    }
    Ok(out)
}

/// Key size, value size and entries as libbpf fixes them up before
/// creating: perf event arrays default to 4-byte keys and values and one
/// entry per possible CPU; ring buffers are a power-of-two number of pages.
fn libbpf_sizes(m: &object::MapSpec) -> (u32, u32, u32) {
    let or = |v: u32, d: u32| if v == 0 { d } else { v };
    match m.map_type {
        uapi::MapType::PerfEventArray => {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
            (
                or(m.key_size, 4),
                or(m.value_size, 4),
                or(m.max_entries, cpus),
            )
        }
        uapi::MapType::Ringbuf => (0, 0, m.max_entries.max(4096).next_power_of_two()),
        _ => (m.key_size, m.value_size, m.max_entries),
    }
}

fn main() {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let runs: usize = std::env::var("VS_KERNEL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11)
        .max(1);
    let kernel = match Kernel::probe() {
        Ok(k) => Some(k),
        Err(e) => {
            eprintln!("kernel column skipped: bpf(2) not permitted ({})", e.reason);
            None
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/obj");
    let mut objs: Vec<_> = std::fs::read_dir(&root)
        .expect("corpus/obj")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    objs.sort();
    let mut rows = Vec::new();
    for path in objs {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let Ok(spec) = object::ObjectSpec::open(&path) else {
            continue;
        };
        let kmaps = kernel.as_ref().map(|k| kernel_maps(k, &spec));
        for prog in &spec.programs {
            let name = format!("{stem}::{}", prog.name);
            if !name.contains(&filter) || !prog.autoload {
                continue;
            }
            let ty =
                if prog.prog_type == uapi::ProgType::Unspec && prog.section.starts_with("socket") {
                    uapi::ProgType::SocketFilter
                } else {
                    prog.prog_type
                };
            let mut insns = prog.insns.clone();
            for r in &prog.map_refs {
                insns[r.insn].imm = r.map as i32;
            }
            let mut req = Request::new(&insns, ty);
            req.expected_attach_type = prog.expected_attach_type;
            for (i, m) in spec.maps.iter().enumerate() {
                req.maps.insert(i as i32, meta(m));
            }
            req.options = Options {
                allow_uninit_stack: true,
            };
            let Ok(v) = verify(&req) else { continue };
            let ours_us = median(
                (0..runs)
                    .map(|_| {
                        let t = Instant::now();
                        let r = verify(&req);
                        let us = t.elapsed().as_secs_f64() * 1e6;
                        std::hint::black_box(r.is_ok());
                        us
                    })
                    .collect(),
            );
            let kernel = match (&kernel, &kmaps) {
                (Some(k), Some(Ok(maps))) => {
                    let mut kin = prog.insns.clone();
                    for r in &prog.map_refs {
                        kin[r.insn].imm = maps[r.map].fd().as_raw_fd();
                    }
                    kernel_time(k, &kin, ty, prog, runs)
                }
                (Some(_), Some(Err(e))) => Err(e.clone()),
                _ => Err("no kernel".into()),
            };
            rows.push(Row {
                name,
                slots: prog.insns.len(),
                ours_processed: v.insns_processed(),
                ours_us,
                kernel,
            });
        }
    }
    print_table(&mut rows);
}

/// Median `verification time` of `runs` loads, and the processed count.
fn kernel_time(
    k: &Kernel,
    insns: &[isa::RawInsn],
    ty: uapi::ProgType,
    prog: &object::ProgramSpec,
    runs: usize,
) -> Result<(u64, f64), String> {
    let mut times = Vec::new();
    let mut processed = 0;
    for _ in 0..runs {
        let mut req = ProgLoad::new(ty, insns)
            .log_level(LogLevel::STATS)
            .prog_flags(prog.prog_flags);
        if let Some(t) = prog.expected_attach_type {
            req = req.expected_attach_type(t);
        }
        let p = k.load_prog(&req).map_err(|e| {
            let msg = e.to_string();
            let why = msg
                .lines()
                .rfind(|l| {
                    !l.starts_with("processed ")
                        && !l.starts_with("verification time")
                        && !l.starts_with("stack depth")
                        && !l.trim().is_empty()
                })
                .unwrap_or("");
            format!("kernel load failed: {why}")
        })?;
        let log = p.log();
        processed = log.processed_insns.unwrap_or(0);
        times.push(
            log.verification_time_usec
                .ok_or("no verification time in the log")? as f64,
        );
    }
    Ok((processed, median(times)))
}

fn print_table(rows: &mut [Row]) {
    rows.sort_by(|a, b| b.slots.cmp(&a.slots).then(a.name.cmp(&b.name)));
    println!(
        "{:<48} {:>6} {:>9} {:>9} {:>10} {:>10} {:>8}",
        "program", "insns", "proc ours", "proc kern", "ours us", "kernel us", "kern/ours"
    );
    let mut logs = Vec::new();
    let mut slower = Vec::new();
    for r in rows.iter() {
        match &r.kernel {
            Ok((kp, kus)) => {
                let ratio = kus.max(1.0) / r.ours_us.max(0.1);
                logs.push(ratio.ln());
                if ratio < 1.0 {
                    slower.push(r.name.clone());
                }
                println!(
                    "{:<48} {:>6} {:>9} {:>9} {:>10.1} {:>10.0} {:>8.2}",
                    r.name, r.slots, r.ours_processed, kp, r.ours_us, kus, ratio
                );
            }
            Err(e) => println!(
                "{:<48} {:>6} {:>9} {:>9} {:>10.1} {:>10} {:>8}   ({e})",
                r.name, r.slots, r.ours_processed, "-", r.ours_us, "-", "-"
            ),
        }
    }
    if !logs.is_empty() {
        let g = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
        println!(
            "\ngeometric mean of kernel/ours over {} programs: {g:.2}x",
            logs.len()
        );
        println!(
            "programs where the kernel is faster: {}",
            if slower.is_empty() {
                "none".to_string()
            } else {
                slower.join(", ")
            }
        );
    }
}
