//! Measures how long parsing (and dumping) a BTF file takes:
//! `cargo run --release -p oxbpf-btf --example parse_time [FILE]`
//! (default `/sys/kernel/btf/vmlinux`).

use oxbpf_btf::{dump, Btf};
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/sys/kernel/btf/vmlinux".into());
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let runs = 10;
    let t = Instant::now();
    let mut btf = None;
    for _ in 0..runs {
        btf = Some(Btf::parse(&bytes).expect("parse"));
    }
    let btf = btf.expect("parsed");
    let parse = t.elapsed() / runs;
    let t = Instant::now();
    let mut raw = String::new();
    dump::raw(&btf, &mut raw).expect("raw");
    let raw_t = t.elapsed();
    let t = Instant::now();
    let mut c = String::new();
    dump::c::header(&btf, &mut c).expect("c");
    let c_t = t.elapsed();
    println!(
        "{path}: {} bytes, {} types: parse {parse:?} (mean of {runs}), raw dump {raw_t:?} ({} lines), C dump {c_t:?} ({} lines)",
        bytes.len(),
        btf.type_count() - 1,
        raw.lines().count(),
        c.lines().count()
    );
}
