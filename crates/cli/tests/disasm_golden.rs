//! `oxbpf disasm` and `oxbpf asm` against the golden files of
//! `tests/golden/disasm/` (regenerated from the real tools by its
//! `rebuild.sh`): every object's listing must equal `llvm-objdump -d`
//! (14) and `llvm-objdump-19 -d` byte for byte, and the kernel dialect of
//! an xlated dump must equal `bpftool prog dump xlated`. No clang needed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/disasm")
}

/// Runs `oxbpf ARGS` in `dir`; returns stdout, failing on a non-zero exit.
fn oxbpf(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run oxbpf");
    assert!(
        out.status.success(),
        "oxbpf {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn objects() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(golden())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".o"))
        .collect();
    v.sort();
    v
}

/// The first differing line, for a readable failure.
fn first_diff(got: &str, want: &str) -> String {
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            return format!("line {}:\n  ours: {g:?}\n  tool: {w:?}", i + 1);
        }
    }
    format!(
        "lengths differ: {} vs {} lines",
        got.lines().count(),
        want.lines().count()
    )
}

fn check(suffix: &str, extra: &[&str]) {
    let dir = golden();
    let objs = objects();
    assert!(objs.len() >= 20, "only {} golden objects", objs.len());
    for o in objs {
        let want_path = dir.join(o.replace(".o", suffix));
        let want = std::fs::read_to_string(&want_path)
            .unwrap_or_else(|e| panic!("{}: {e}", want_path.display()));
        let mut args = vec!["disasm", o.as_str()];
        args.extend_from_slice(extra);
        let got = oxbpf(&dir, &args);
        assert!(got == want, "{o} {extra:?}: {}", first_diff(&got, &want));
    }
}

#[test]
fn objects_match_llvm_objdump_14() {
    check(".objdump14.txt", &[]);
}

#[test]
fn objects_match_llvm_objdump_19() {
    check(".objdump19.txt", &["syntax", "llvm19"]);
}

#[test]
fn xlated_bytes_match_bpftool() {
    let dir = golden().join("kernel");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".xlated.bin") else {
            continue;
        };
        let want = std::fs::read_to_string(dir.join(format!("{stem}.xlated.txt"))).unwrap();
        let got = oxbpf(&dir, &["disasm", &name, "syntax", "kernel"]);
        assert!(got == want, "{name}: {}", first_diff(&got, &want));
        n += 1;
    }
    assert!(n >= 1);
}

/// `section` picks one section; `readable` replaces what llvm 14 cannot
/// print with llvm 19's mnemonics in decimal.
#[test]
fn section_and_readable() {
    let dir = golden();
    let only = oxbpf(&dir, &["disasm", "subprog.v3.o", "section", "tc"]);
    assert!(only.contains("Disassembly of section tc:\n"));
    assert!(!only.contains(".text"));
    let exact = oxbpf(&dir, &["disasm", "cpuv4.v4.o"]);
    let readable = oxbpf(&dir, &["disasm", "cpuv4.v4.o", "readable"]);
    assert!(exact.contains("<unknown>"));
    assert!(!readable.contains("<unknown>"));
    assert!(readable.contains(" = bswap16 r"), "{readable}");
    assert!(readable.contains("\tw4 s/= 3\n"), "{readable}");
    assert!(
        readable.contains("\tgotol +1 <cpuv4+0x158>\n"),
        "{readable}"
    );
}

/// `asm` prints hex, writes raw bytes with `out`, and `disasm` of those
/// bytes reads back to the same program.
#[test]
fn asm_then_disasm_raw() {
    let tmp = std::env::temp_dir().join(format!("oxbpf-asm-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let src = tmp.join("p.s");
    std::fs::write(
        &src,
        "r0 = 0\nloop: r0 += 1\nif r0 < 10 goto loop\nr1 = 0x100000000 ll\nexit\n",
    )
    .unwrap();
    let hex = oxbpf(&tmp, &["asm", "p.s"]);
    assert_eq!(
        hex,
        "b7 00 00 00 00 00 00 00\n07 00 00 00 01 00 00 00\na5 00 fe ff 0a 00 00 00\n\
         18 01 00 00 00 00 00 00\n00 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n"
    );
    oxbpf(&tmp, &["asm", "p.s", "out", "p.bin"]);
    assert_eq!(std::fs::read(tmp.join("p.bin")).unwrap().len(), 48);
    let text = oxbpf(&tmp, &["disasm", "p.bin"]);
    assert!(text.contains("\tif r0 < 10 goto -2\n"), "{text}");
    // The hex text itself is accepted by disasm too.
    std::fs::write(tmp.join("p.hex"), &hex).unwrap();
    assert_eq!(oxbpf(&tmp, &["disasm", "p.hex"]), text);
    let conf = oxbpf(&tmp, &["disasm", "p.bin", "syntax", "conformance"]);
    std::fs::write(tmp.join("p.conf"), &conf).unwrap();
    assert_eq!(
        oxbpf(&tmp, &["asm", "p.conf", "syntax", "conformance"]),
        hex
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A conformance test file is read from its `-- asm` section.
#[test]
fn asm_of_a_conformance_data_file() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance/tests");
    let hex = oxbpf(&data, &["asm", "add.data"]);
    let flat: String = hex.split_whitespace().collect();
    assert_eq!(
        flat,
        "b400000000000000b40100000200000004000000010000000c100000000000000c0000000000000004000000fdffffff9500000000000000"
    );
}

#[test]
fn errors_are_located() {
    let tmp = std::env::temp_dir().join(format!("oxbpf-asm-err-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("bad.s"), "r0 = 1\nr0 = r12\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .args(["asm", "bad.s"])
        .current_dir(&tmp)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: bad.s: line 2, column 6: Invalid register `r12` (expected r0 to r10)\n"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
