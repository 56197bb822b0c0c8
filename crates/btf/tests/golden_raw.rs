//! Our raw dump against `bpftool btf dump file X.o`, byte for byte, on every
//! test object; and against bpftool on the running kernel's BTF when both
//! are present.

mod common;
use common::*;
use oxbpf_btf::{dump, Btf};

#[test]
fn raw_dump_matches_bpftool_on_every_object() {
    let mut lines = 0;
    for stem in objects() {
        let btf = btf_of(&stem);
        let mut ours = String::new();
        dump::raw(&btf, &mut ours).unwrap();
        let theirs =
            std::fs::read_to_string(data_dir().join(format!("{stem}.bpftool.txt"))).unwrap();
        if let Some(d) = first_diff(&ours, &theirs) {
            panic!("{stem}.o: raw dump differs from bpftool at {d}");
        }
        lines += theirs.lines().count();
    }
    eprintln!(
        "raw dump: {} objects, {lines} lines identical to bpftool",
        objects().len()
    );
}

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

#[test]
fn raw_dump_matches_bpftool_on_vmlinux() {
    let Ok(bytes) = std::fs::read(VMLINUX) else {
        eprintln!("SKIPPED: {VMLINUX} not present");
        return;
    };
    let t = std::time::Instant::now();
    let btf = Btf::parse(&bytes).expect("vmlinux parses");
    eprintln!(
        "vmlinux: {} types parsed in {:?}",
        btf.type_count() - 1,
        t.elapsed()
    );
    let mut ours = String::new();
    dump::raw(&btf, &mut ours).unwrap();
    let out = match std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX])
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!(
                "SKIPPED: bpftool not available; dumped {} lines unchecked",
                ours.lines().count()
            );
            return;
        }
    };
    let theirs = String::from_utf8(out.stdout).unwrap();
    if let Some(d) = first_diff(&ours, &theirs) {
        panic!("vmlinux: raw dump differs from bpftool at {d}");
    }
    eprintln!(
        "vmlinux raw dump: {} lines identical to bpftool",
        theirs.lines().count()
    );
    for (flag, pretty) in [("-j", false), ("-p", true)] {
        let out = std::process::Command::new("bpftool")
            .args([flag, "btf", "dump", "file", VMLINUX])
            .output()
            .unwrap();
        let mut ours = String::new();
        dump::json(&btf, pretty, &mut ours).unwrap();
        ours.push('\n');
        let theirs = String::from_utf8(out.stdout).unwrap();
        if let Some(d) = first_diff(&ours, &theirs) {
            panic!("vmlinux: bpftool {flag} JSON differs at {d}");
        }
    }
    eprintln!("vmlinux JSON (-j and -p): identical to bpftool");
}

#[test]
fn json_dump_matches_bpftool_on_every_object() {
    for stem in objects() {
        let btf = btf_of(&stem);
        let mut ours = String::new();
        dump::json(&btf, false, &mut ours).unwrap();
        ours.push('\n');
        let theirs =
            std::fs::read_to_string(data_dir().join(format!("{stem}.bpftool.json"))).unwrap();
        assert!(
            ours == theirs,
            "{stem}.o: JSON differs from bpftool's\nours:    {ours}\nbpftool: {theirs}"
        );
    }
}
