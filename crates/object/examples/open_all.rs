//! Opens every object given (or found under the directories given) with
//! CO-RE against the running kernel's BTF, and prints one line per failure
//! and a summary: `cargo run -p oxbpf-object --example open_all -- DIR...`
use oxbpf_object::{CoreTarget, ObjectSpec, ParseOptions};
use std::path::{Path, PathBuf};

fn walk(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            walk(&e.path(), out);
        }
    } else if p.extension().is_some_and(|e| e == "o") {
        out.push(p.to_path_buf());
    }
}

fn main() {
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux")
        .ok()
        .and_then(|b| btf::Btf::parse(&b).ok());
    let opts = ParseOptions {
        core: vmlinux
            .as_ref()
            .map_or(CoreTarget::Builtin, CoreTarget::Btf),
        ..ParseOptions::default()
    };
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        walk(Path::new(&a), &mut files);
    }
    files.sort();
    let (mut ok, mut bad) = (0, 0);
    let mut poisoned = 0;
    for f in &files {
        match ObjectSpec::open_with(f, &opts) {
            Ok(s) => {
                ok += 1;
                poisoned += s
                    .programs
                    .iter()
                    .flat_map(|p| &p.core_relos)
                    .filter(|r| r.outcome == oxbpf_object::CoreOutcome::Poisoned)
                    .count();
            }
            Err(e) => {
                bad += 1;
                println!("{e}");
            }
        }
    }
    println!("{ok} opened, {bad} failed, {poisoned} CO-RE relocations poisoned");
}
