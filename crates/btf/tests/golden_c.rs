//! `format c` output: compared with bpftool's on every test object, and
//! compiled with a C compiler when one is installed.

mod common;
use common::*;
use oxbpf_btf::dump;
use std::path::Path;
use std::process::Command;

/// Deliberate differences from bpftool v7.1 (libbpf 1.1): newer libbpf
/// forces the size of 1- and 8-byte enums with a mode attribute so that
/// layouts match the BTF; bpftool 7.1 omits it.
fn normalize(s: &str) -> String {
    s.replace(" __attribute__((mode(byte)))", "")
        .replace(" __attribute__((mode(word)))", "")
}

#[test]
fn c_dump_matches_bpftool_on_every_object() {
    let mut lines = 0;
    for stem in objects() {
        let btf = btf_of(&stem);
        let mut ours = String::new();
        dump::c::header(&btf, &mut ours).unwrap();
        let theirs = std::fs::read_to_string(data_dir().join(format!("{stem}.bpftool.h"))).unwrap();
        if let Some(d) = first_diff(&normalize(&ours), &theirs) {
            panic!("{stem}.o: C dump differs from bpftool at {d}");
        }
        lines += theirs.lines().count();
    }
    eprintln!(
        "C dump: {} objects, {lines} lines identical to bpftool",
        objects().len()
    );
}

/// The first C compiler found, with the arguments for a syntax check.
fn compiler() -> Option<Vec<&'static str>> {
    let ok = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if ok("clang-19") {
        Some(vec![
            "clang-19",
            "-target",
            "bpf",
            "-fsyntax-only",
            "-Werror=implicit-int",
        ])
    } else if ok("clang") {
        Some(vec!["clang", "-target", "bpf", "-fsyntax-only"])
    } else if ok("gcc") {
        Some(vec![
            "gcc",
            "-fsyntax-only",
            "-Wno-attributes",
            "-Wno-unknown-pragmas",
        ])
    } else {
        None
    }
}

/// Compiles `header` followed by a use of it; panics with the compiler's
/// complaint on failure.
fn compile(cc: &[&str], header: &str, what: &str) {
    let dir = std::env::temp_dir().join(format!("oxbpf-btf-c-{}-{what}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let h = dir.join("vmlinux.h");
    std::fs::write(&h, header).unwrap();
    let c = dir.join("use.c");
    std::fs::write(&c, "#include \"vmlinux.h\"\nint main(void) { return 0; }\n").unwrap();
    let out = Command::new(cc[0])
        .args(&cc[1..])
        .arg(&c)
        .output()
        .expect("run compiler");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{what}: dumped header does not compile with {}:\n{}",
        cc[0],
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn c_dump_compiles() {
    let Some(cc) = compiler() else {
        eprintln!("SKIPPED: no clang-19, clang or gcc to compile the dumped headers");
        return;
    };
    for stem in objects() {
        let mut ours = String::new();
        dump::c::header(&btf_of(&stem), &mut ours).unwrap();
        compile(&cc, &ours, &stem);
    }
    let vmlinux = Path::new("/sys/kernel/btf/vmlinux");
    match std::fs::read(vmlinux) {
        Ok(bytes) => {
            let btf = oxbpf_btf::Btf::parse(&bytes).unwrap();
            let mut ours = String::new();
            let t = std::time::Instant::now();
            dump::c::header(&btf, &mut ours).unwrap();
            eprintln!(
                "vmlinux.h: {} lines in {:?}",
                ours.lines().count(),
                t.elapsed()
            );
            compile(&cc, &ours, "vmlinux");
        }
        Err(_) => eprintln!("SKIPPED: {} not present", vmlinux.display()),
    }
}

#[test]
fn c_dump_matches_bpftool_on_vmlinux() {
    let path = "/sys/kernel/btf/vmlinux";
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("SKIPPED: {path} not present");
        return;
    };
    let out = match Command::new("bpftool")
        .args(["btf", "dump", "file", path, "format", "c"])
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("SKIPPED: bpftool not available");
            return;
        }
    };
    let btf = oxbpf_btf::Btf::parse(&bytes).unwrap();
    let mut ours = String::new();
    dump::c::header(&btf, &mut ours).unwrap();
    let theirs = String::from_utf8(out.stdout).unwrap();
    if let Some(d) = first_diff(&normalize(&ours), &theirs) {
        panic!("vmlinux: C dump differs from bpftool at {d}");
    }
    eprintln!(
        "vmlinux.h: {} lines identical to bpftool's",
        theirs.lines().count()
    );
}
