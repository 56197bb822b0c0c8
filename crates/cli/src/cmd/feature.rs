//! `oxbpf feature [probe]`: what this build supports, in the spirit of
//! `bpftool feature probe kernel` — program types, map types (each probed
//! by creating a small map), helpers (the runtime's registry) and the
//! instruction set.

// Output that a closed pipe (`| head`) ends quietly instead of panicking.
macro_rules! println {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use serde_json::json;
use std::process::ExitCode;

/// Instruction groups the verifier, interpreter and JIT implement.
const INSNS: &[(&str, &str)] = &[
    (
        "have_bpf_alu64",
        "ALU64 (add, sub, mul, div, mod, or, and, xor, lsh, rsh, arsh, neg, mov)",
    ),
    ("have_bpf_alu32", "ALU32 with zero extension"),
    ("have_jmp32", "JMP32 conditional jumps (v3)"),
    ("have_v4_sdiv_smod", "signed division and modulo (v4)"),
    ("have_v4_movsx", "sign-extending moves and loads (v4)"),
    ("have_v4_bswap", "unconditional byte swaps (v4)"),
    ("have_v4_gotol", "32-bit jump offsets, gotol (v4)"),
    (
        "have_atomics",
        "atomic add/and/or/xor, fetch variants, xchg, cmpxchg",
    ),
    ("have_bpf_to_bpf_calls", "bpf-to-bpf calls"),
    ("have_callx", "indirect calls (callx)"),
    ("have_ld_abs_ind", "legacy packet loads (LD_ABS, LD_IND)"),
];

fn map_supported(t: oxbpf::MapType) -> bool {
    use oxbpf::MapType as T;
    let (k, v, n) = match t {
        T::Queue | T::Stack | T::BloomFilter => (0, 8, 4),
        T::Ringbuf => (0, 0, 4096),
        T::LpmTrie => (8, 8, 4),
        T::ProgArray | T::ArrayOfMaps | T::HashOfMaps | T::PerfEventArray => (4, 4, 4),
        T::CgroupStorage | T::PercpuCgroupStorage => (8, 8, 0),
        _ => (4, 8, 4),
    };
    let mut spec = oxbpf::MapSpec::new(t, k, v, n);
    if t == T::LpmTrie {
        spec = spec.with_flags(1); // BPF_F_NO_PREALLOC
    }
    if matches!(t, T::ArrayOfMaps | T::HashOfMaps) {
        spec = spec.with_inner(oxbpf::MapSpec::new(T::Array, 4, 4, 1));
    }
    !matches!(
        oxbpf_maps_probe(spec),
        Err(e) if e.contains("not supported")
    )
}

fn oxbpf_maps_probe(spec: oxbpf::MapSpec) -> Result<(), String> {
    oxbpf::Runtime::new()
        .create_map(spec)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub fn run(out: &Output, words: Vec<String>) -> CliResult<ExitCode> {
    let mut args = Args::new(words);
    match args.next_opt().as_deref() {
        None | Some("probe") => {}
        Some(other) => return Err(cli_err!("unknown feature command '{other}'")),
    }
    while args.next_opt().is_some() {} // `probe kernel` and the like
    let progs: Vec<&str> = oxbpf::ProgType::ALL
        .iter()
        .filter(|t| **t != oxbpf::ProgType::Unspec)
        .map(|t| t.name())
        .collect();
    let maps: Vec<&str> = oxbpf::MapType::ALL
        .iter()
        .filter(|t| **t != oxbpf::MapType::Unspec && map_supported(**t))
        .map(|t| t.name())
        .collect();
    // What `oxbpf::Runtime` starts with (its `helpers::standard`).
    let mut reg = vm::helpers::standard_registry();
    vm::helpers::register_packet_helpers(&mut reg);
    let mut helpers: Vec<(u32, String)> = reg
        .ids()
        .map(|h| {
            (
                h.0,
                h.name()
                    .map_or_else(|| format!("#{}", h.0), |n| format!("bpf_{n}")),
            )
        })
        .collect();
    helpers.sort();
    if out.json {
        let insns: serde_json::Map<String, serde_json::Value> = INSNS
            .iter()
            .map(|(k, _)| (k.to_string(), json!(true)))
            .collect();
        out.print_json(&json!({
            "instructions": insns,
            "program_types": progs,
            "map_types": maps,
            "helpers": helpers.iter().map(|(_, n)| n).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("Scanning eBPF instruction set...");
    for (_, d) in INSNS {
        println!("{d} is available");
    }
    println!("\nScanning eBPF program types...");
    for p in &progs {
        println!("eBPF program_type {p} is available");
    }
    println!("\nScanning eBPF map types...");
    for m in &maps {
        println!("eBPF map_type {m} is available");
    }
    println!("\nScanning eBPF helper functions...");
    println!("Helpers available to every program type of oxbpf (the verifier restricts each type as the kernel does):");
    for (_, n) in &helpers {
        println!("\t- {n}");
    }
    Ok(ExitCode::SUCCESS)
}
