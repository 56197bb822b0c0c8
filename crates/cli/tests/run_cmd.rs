//! `oxbpf run` and `oxbpf conformance-plugin` through the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn oxbpf() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oxbpf"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    c
}

#[test]
fn run_prime_example() {
    let out = oxbpf()
        .args(["run", "examples/asm/prime.s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1229\n");
}

#[test]
fn run_conformance_data_file_with_its_memory() {
    let out = oxbpf()
        .args(["-j", "run", "testdata/conformance/tests/mem-len.data"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["retval"], 8);
}

#[test]
fn run_reports_errors_with_the_instruction() {
    let dir = std::env::temp_dir().join(format!("oxbpf-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("oob.s");
    std::fs::write(&prog, "r0 = *(u64 *)(r1 + 0)\nexit\n").unwrap();
    let out = oxbpf()
        .args(["run", prog.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("insn 0: invalid memory read of 8 bytes at 0x0"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The runner's argv: memory right after the executable, then the plugin
/// options (`conformance-plugin`), program on stdin.
#[test]
fn plugin_with_the_runners_argument_order() {
    let mut child = oxbpf()
        .args(["00  00  00  01  00  00  00  02  ", "conformance-plugin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // mov r0, r2 ; exit
    let prog = "bf  20  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(prog.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "8\n");
}

#[test]
fn run_on_the_jit() {
    let out = oxbpf()
        .args(["run", "examples/asm/prime.s", "engine", "jit"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1229\n");
    let out = oxbpf()
        .args([
            "-j",
            "run",
            "testdata/conformance/tests/mem-len.data",
            "engine",
            "jit",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["retval"], 8);
}

/// An out-of-bounds program is refused by the checked interpreter's vetting
/// run instead of crashing compiled code.
#[test]
fn jit_runs_are_vetted() {
    let dir = std::env::temp_dir().join(format!("oxbpf-run-jit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("oob.s");
    std::fs::write(&prog, "r0 = *(u64 *)(r1 + 0)\nexit\n").unwrap();
    let out = oxbpf()
        .args(["run", prog.to_str().unwrap(), "engine", "jit"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("insn 0: invalid memory read"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plugin_on_the_jit() {
    let mut child = oxbpf()
        .args([
            "00  00  00  01  00  00  00  02  ",
            "conformance-plugin",
            "--jit",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // ldxw r0, [r1+4] ; be32 r0 ; exit
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"61 10 04 00 00 00 00 00 dc 00 00 00 20 00 00 00 95 00 00 00 00 00 00 00\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
}
