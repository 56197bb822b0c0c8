//! `oxbpf cbpf FILE [dump | run INPUT [out FILE] [verbose] [vlan_offload]]`: a classic BPF
//! filter (tcpdump `-ddd` or `-dd` output, or a raw `struct sock_filter`
//! array) translated to eBPF, shown (`dump`, the default: each classic
//! instruction as `tcpdump -d` prints it, followed by its eBPF in llvm
//! syntax) or run over a pcap/pcapng capture (`run`, the same as
//! `oxbpf pcap cbpf FILE INPUT`; `verbose` prints each packet's return
//! value).
//!
//! The translated program runs in the checked interpreter as a socket
//! filter on a minimal `__sk_buff` ([`skb`]); a packet is kept when it
//! returns non-zero, and written to `out` truncated to the returned length,
//! as a socket filter trims it.

pub mod capture;
mod dissect;
pub mod skb;

#[cfg(test)]
mod gen;
#[cfg(test)]
mod tests;

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use capture::{CaptureReader, CaptureWriter, Item};
use isa::cbpf::{self, Translation};
use isa::disasm::{insn_text, Dialect, DisasmOptions};
use skb::SocketFilter;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

pub fn run(out: &Output, args: Vec<String>) -> CliResult<ExitCode> {
    let mut a = Args::new(args);
    let file = a.next("FILE (a classic BPF filter)")?;
    let t = load_filter(&file)?;
    match a.next_opt().as_deref() {
        None | Some("dump") => {
            a.finish()?;
            dump(out, &t);
            Ok(ExitCode::SUCCESS)
        }
        Some("run") => {
            let input = a.next("INPUT (a pcap or pcapng file)")?;
            let opts = RunOptions::parse(&mut a)?;
            run_capture(out, &file, &t, &input, &opts)
        }
        Some(w) => Err(cli_err!("unexpected argument '{w}': expected dump or run")),
    }
}

/// Reads and translates a filter file: tcpdump `-ddd`/`-dd` text, or the
/// bytes of a `struct sock_filter` array.
pub fn load_filter(path: &str) -> CliResult<Translation> {
    let bytes = std::fs::read(path).map_err(|e| cli_err!("{path}: {e}"))?;
    let prog = match std::str::from_utf8(&bytes) {
        Ok(text) if !text.contains('\0') => cbpf::parse_text(text),
        _ => cbpf::sock_filters_from_bytes(&bytes).ok_or(cbpf::CbpfError::Parse {
            line: 0,
            kind: cbpf::ParseErrorKind::Unrecognised {
                text: format!("{} bytes, not a multiple of 8", bytes.len()),
            },
        }),
    };
    prog.and_then(|p| cbpf::translate(&p))
        .map_err(|e| cli_err!("{path}: {e}"))
}

fn dump(out: &Output, t: &Translation) {
    let opts = DisasmOptions::new(Dialect::Llvm14);
    if !out.json {
        print!("{}", t.listing(opts));
        return;
    }
    let classic: Vec<_> = t
        .classic
        .iter()
        .enumerate()
        .map(|(i, insn)| {
            let f = insn.encode();
            serde_json::json!({
                "code": f.code, "jt": f.jt, "jf": f.jf, "k": f.k,
                "text": cbpf::cbpf_text(insn, i).trim_end(),
            })
        })
        .collect();
    let ebpf: Vec<_> = t
        .insns
        .iter()
        .enumerate()
        .map(|(pc, insn)| serde_json::json!({"pc": pc, "cbpf": t.origin(pc), "text": insn_text(insn, opts)}))
        .collect();
    out.print_json(&serde_json::json!({
        "cbpf": classic, "ebpf": ebpf, "stack_depth": t.stack_depth,
    }));
}

/// The keyword arguments after INPUT.
#[derive(Default)]
pub struct RunOptions {
    pub out: Option<String>,
    pub verbose: bool,
    /// `vlan_offload`: move the outer VLAN tag of each Ethernet frame into
    /// the skb, as a NIC with VLAN acceleration does before a socket
    /// filter runs (for filters compiled for live Linux captures, which
    /// read tags with `ld vlan_tci`).
    pub vlan_offload: bool,
}

impl RunOptions {
    pub fn parse(a: &mut Args) -> CliResult<RunOptions> {
        let mut o = RunOptions::default();
        while let Some(kw) = a.next_opt() {
            match kw.as_str() {
                "out" => o.out = Some(a.next("out FILE")?),
                "verbose" => o.verbose = true,
                "vlan_offload" => o.vlan_offload = true,
                "engine" => match a.next("engine (interp|jit)")?.as_str() {
                    "interp" => {}
                    "jit" => {
                        return Err(cli_err!(
                            "engine jit is not available yet; use engine interp"
                        ))
                    }
                    e => return Err(cli_err!("invalid engine '{e}': expected interp or jit")),
                },
                w => return Err(cli_err!("unexpected argument '{w}'")),
            }
        }
        Ok(o)
    }
}

/// What a run over a capture counted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets: u64,
    pub kept: u64,
    /// Packets per return value.
    pub retvals: BTreeMap<u32, u64>,
}

/// Runs `t` over every packet of `input`, calling `each(index, retval)`
/// and writing kept packets to `out`.
pub fn filter_capture(
    t: &Translation,
    input: &str,
    out: Option<&str>,
    vlan_offload: bool,
    mut each: impl FnMut(u64, u32),
) -> Result<Stats, String> {
    let mut filter = SocketFilter::new(&t.insns).map_err(|e| format!("translated program: {e}"))?;
    let mut reader = CaptureReader::open(input)?;
    let mut writer = out.map(|o| CaptureWriter::create(o, &reader)).transpose()?;
    let mut stats = Stats::default();
    while let Some(item) = reader.next_block() {
        let p = match item.map_err(|e| format!("{input}: packet {}: {e}", stats.packets))? {
            Item::Packet(p) => p,
            Item::Other(block) => {
                if let Some(w) = writer.as_mut() {
                    w.write_other(&block)?;
                }
                continue;
            }
        };
        let offloaded = capture::accelerate_vlan(&p).filter(|_| vlan_offload);
        let r = match &offloaded {
            Some((q, meta)) => filter.run(&q.data, meta),
            None => filter.run(&p.data, &capture::skb_meta(&p)),
        }
        .map_err(|e| format!("{input}: packet {}: {e}", stats.packets))?;
        each(stats.packets, r);
        stats.packets += 1;
        *stats.retvals.entry(r).or_default() += 1;
        if r != 0 {
            stats.kept += 1;
            if let Some(w) = writer.as_mut() {
                w.write(&p, r)?;
            }
        }
    }
    Ok(stats)
}

/// `cbpf FILE run INPUT` and `pcap cbpf FILE INPUT`: run and report.
pub fn run_capture(
    out: &Output,
    file: &str,
    t: &Translation,
    input: &str,
    opts: &RunOptions,
) -> CliResult<ExitCode> {
    let start = Instant::now();
    let verbose = opts.verbose && !out.json;
    let stats = filter_capture(t, input, opts.out.as_deref(), opts.vlan_offload, |i, r| {
        if verbose {
            println!("packet {i}: {r}");
        }
    })
    .map_err(|e| cli_err!("{file}: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let pps = if secs > 0.0 {
        (stats.packets as f64 / secs).round() as u64
    } else {
        0
    };
    let dropped = stats.packets - stats.kept;
    if out.json {
        let retvals: serde_json::Map<String, serde_json::Value> = stats
            .retvals
            .iter()
            .map(|(r, n)| (r.to_string(), (*n).into()))
            .collect();
        out.print_json(&serde_json::json!({
            "packets": stats.packets, "kept": stats.kept, "dropped": dropped,
            "retvals": retvals, "packets_per_second": pps,
        }));
    } else {
        println!("packets: {}", stats.packets);
        println!("kept: {}", stats.kept);
        println!("dropped: {dropped}");
        for (r, n) in &stats.retvals {
            println!("retval {r}: {n}");
        }
        println!("packets per second: {pps}");
    }
    Ok(ExitCode::SUCCESS)
}
