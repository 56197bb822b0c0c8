//! `oxbpf pcap PROG INPUT [out FILE] [engine interp|jit] [verbose]`: run
//! an xdp, tc or socket program on every packet of a pcap or pcapng
//! capture, as `BPF_PROG_TEST_RUN` would run it on each. Prints the count
//! per verdict (`XDP_PASS`, `TC_ACT_SHOT`, …), packets per second, and the
//! contents of the program's maps at the end; writes the packets that pass
//! (as the program left them: rewritten, grown, shrunk or trimmed) to
//! `out`. JSON: `{"packets":N,"kept":K,"dropped":D,"errors":E,
//! "retvals":{"2":n,…},"verdicts":{"XDP_PASS":n,…},"packets_per_second":P,
//! "maps":{NAME:[{"key":[..],"value":[..]}]}}`.
//!
//! `oxbpf pcap cbpf FILTER INPUT [out FILE] [verbose] [vlan_offload]` runs
//! a classic BPF filter (tcpdump `-ddd`/`-dd` output) instead; a packet is
//! kept when the filter returns non-zero, as tcpdump keeps it.
//!
//! Packets the kernel would refuse to test-run (an skb shorter than an
//! Ethernet header, an XDP frame larger than a page) are counted as
//! `errors` and not run. A progress bar is drawn on standard error for
//! runs longer than a second when it is a terminal.

use super::cbpf::capture::{CaptureReader, CaptureWriter, Item};
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub fn run(out: &Output, args: Vec<String>) -> CliResult<ExitCode> {
    let mut a = Args::new(args);
    if a.peek() == Some("cbpf") {
        a.next_opt();
        let filter = a.next("FILTER (tcpdump -ddd or -dd output)")?;
        let input = a.next("INPUT (a pcap or pcapng file)")?;
        let t = super::cbpf::load_filter(&filter)?;
        let opts = super::cbpf::RunOptions::parse(&mut a)?;
        return super::cbpf::run_capture(out, &filter, &t, &input, &opts);
    }
    // The pin directory's runtime: ids shared with other processes,
    // trace_printk lines to `prog tracelog` (as Linux sends them to
    // trace_pipe); a plain one when there is no usable pin directory.
    let rt = crate::cmd::prog::pin::runtime().unwrap_or_else(|_| oxbpf::Runtime::new());
    let prog = super::prog::resolve(&rt, &mut a)?;
    let input = a.next("INPUT (a pcap or pcapng file)")?;
    let mut out_path = None;
    let mut verbose = false;
    let mut engine = None;
    while let Some(kw) = a.next_opt() {
        match kw.as_str() {
            "out" => out_path = Some(a.next("out FILE")?),
            "verbose" => verbose = true,
            "engine" => engine = Some(super::prog::parse_engine(&mut a)?),
            w => return Err(cli_err!("unexpected argument '{w}'")),
        }
    }
    let engine = engine.unwrap_or_else(|| prog.engine());
    let stats = run_program(
        &prog,
        &input,
        out_path.as_deref(),
        verbose && !out.json,
        engine,
    )?;
    report(out, &prog, &stats);
    Ok(ExitCode::SUCCESS)
}

/// What a run over a capture counted.
#[derive(Debug, Default)]
pub struct ProgStats {
    pub packets: u64,
    pub kept: u64,
    pub errors: u64,
    pub retvals: BTreeMap<u32, u64>,
    pub verdicts: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

/// Runs `prog` on every packet of `input`, writing passing packets to
/// `out`.
pub fn run_program(
    prog: &oxbpf::Program,
    input: &str,
    out: Option<&str>,
    verbose: bool,
    engine: oxbpf::Engine,
) -> CliResult<ProgStats> {
    let ty = prog.prog_type();
    if !matches!(
        ty,
        oxbpf::ProgType::Xdp
            | oxbpf::ProgType::SchedCls
            | oxbpf::ProgType::SchedAct
            | oxbpf::ProgType::SocketFilter
            | oxbpf::ProgType::CgroupSkb
    ) {
        return Err(cli_err!(
            "program '{}' is of type {}; pcap runs take xdp, tc, socket_filter or cgroup_skb programs",
            prog.name(),
            ty.name()
        ));
    }
    let total_bytes = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    let mut reader = CaptureReader::open(input).map_err(|e| cli_err!("{e}"))?;
    let mut writer = out
        .map(|o| CaptureWriter::create(o, &reader))
        .transpose()
        .map_err(|e| cli_err!("{e}"))?;
    let mut host = prog.helper_host();
    let mut machine = vm::Machine::new();
    let mut run: Option<oxbpf::TestRun> = None;
    let mut stats = ProgStats::default();
    let start = Instant::now();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut bytes_read = 0u64;
    while let Some(item) = reader.next_block() {
        let p = match item.map_err(|e| cli_err!("{input}: packet {}: {e}", stats.packets))? {
            Item::Packet(p) => p,
            Item::Other(block) => {
                if let Some(w) = writer.as_mut() {
                    w.write_other(&block).map_err(|e| cli_err!("{e}"))?;
                }
                continue;
            }
        };
        stats.packets += 1;
        bytes_read += p.data.len() as u64 + 16;
        if stats.packets.is_multiple_of(4096) {
            if bar.is_none()
                && start.elapsed() > Duration::from_secs(1)
                && std::io::stderr().is_terminal()
            {
                let b = indicatif::ProgressBar::new(total_bytes);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {percent}% {msg} [{elapsed_precise}<{eta_precise}]",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar = Some(b);
            }
            if let Some(b) = &bar {
                b.set_position(bytes_read.min(total_bytes));
                b.set_message(format!("{} packets", stats.packets));
            }
        }
        // The first packet builds the run; later ones reuse its buffers.
        let ready = match run.as_mut() {
            Some(r) => r.reset_packet(&p.data).is_ok(),
            None => {
                let input = oxbpf::TestRunInput {
                    data_in: &p.data,
                    ..Default::default()
                };
                match oxbpf::TestRun::new(ty, prog.expected_attach_type(), &input) {
                    Ok(r) => {
                        run = Some(r);
                        true
                    }
                    Err(_) => false,
                }
            }
        };
        let Some(r) = run.as_mut().filter(|_| ready) else {
            stats.errors += 1;
            if verbose {
                println!(
                    "packet {}: refused ({} bytes)",
                    stats.packets - 1,
                    p.data.len()
                );
            }
            continue;
        };
        let r0 = prog
            .run_once_on(r, &mut host, &mut machine, 0, engine)
            .map_err(|e| cli_err!("{input}: packet {}: {e}", stats.packets - 1))?;
        let v = oxbpf::verdict(ty, r0);
        if verbose {
            println!("packet {}: {}", stats.packets - 1, v.name());
        }
        *stats.retvals.entry(r0 as u32).or_default() += 1;
        *stats.verdicts.entry(v.name()).or_default() += 1;
        if v.passes() {
            stats.kept += 1;
            if let Some(w) = writer.as_mut() {
                let data = r.packet().map(|b| b.data().to_vec()).unwrap_or_default();
                let keep = match v {
                    oxbpf::Verdict::SocketFilter { keep } => (keep as usize).min(data.len()),
                    _ => data.len(),
                };
                let mut q = p.clone();
                q.orig_len = if data.len() == p.data.len() {
                    p.orig_len
                } else {
                    data.len() as u32
                };
                q.data = data;
                w.write(&q, keep as u32).map_err(|e| cli_err!("{e}"))?;
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    stats.elapsed = start.elapsed();
    Ok(stats)
}

/// A map entry: key and value bytes.
type Entry = (Vec<u8>, Vec<u8>);

fn report(out: &Output, prog: &oxbpf::Program, stats: &ProgStats) {
    let secs = stats.elapsed.as_secs_f64();
    let pps = if secs > 0.0 {
        (stats.packets as f64 / secs).round() as u64
    } else {
        0
    };
    let dropped = stats.packets - stats.kept - stats.errors;
    let maps: Vec<(String, Vec<Entry>)> = prog
        .maps()
        .iter()
        .map(|m| {
            let entries = m
                .keys()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|k| m.lookup(&k).ok().map(|v| (k, v)))
                .filter(|(_, v)| v.iter().any(|&b| b != 0))
                .collect();
            (m.name().to_string(), entries)
        })
        .collect();
    if out.json {
        let retvals: serde_json::Map<String, serde_json::Value> = stats
            .retvals
            .iter()
            .map(|(r, n)| (r.to_string(), (*n).into()))
            .collect();
        let verdicts: serde_json::Map<String, serde_json::Value> = stats
            .verdicts
            .iter()
            .map(|(r, n)| (r.clone(), (*n).into()))
            .collect();
        let maps: serde_json::Map<String, serde_json::Value> = maps
            .iter()
            .map(|(name, entries)| {
                let list: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                    .collect();
                (name.clone(), list.into())
            })
            .collect();
        out.print_json(&serde_json::json!({
            "packets": stats.packets, "kept": stats.kept, "dropped": dropped,
            "errors": stats.errors, "retvals": retvals, "verdicts": verdicts,
            "packets_per_second": pps, "maps": maps,
        }));
        return;
    }
    println!("packets: {}", stats.packets);
    println!("kept: {}", stats.kept);
    println!("dropped: {dropped}");
    if stats.errors > 0 {
        println!(
            "refused: {} (not runnable, as the kernel's test run refuses them)",
            stats.errors
        );
    }
    for (name, n) in &stats.verdicts {
        println!("{name}: {n}");
    }
    println!("packets per second: {pps}");
    for (name, entries) in &maps {
        println!("map {name}: {} non-zero entries", entries.len());
        for (k, v) in entries.iter().take(16) {
            println!("  key: {}  value: {}", hex(k), hex(v));
        }
        if entries.len() > 16 {
            println!("  … {} more", entries.len() - 16);
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
