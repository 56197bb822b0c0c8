//! What the workflow tests share: a fresh `OXBPF_FS` per test, running
//! the built `oxbpf` binary in it, and running bpftool on the kernel.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub const OBJ: &str = "examples/workflow/counter.bpf.o";

pub struct Fs {
    pub dir: PathBuf,
}

impl Fs {
    pub fn new(name: &str) -> Fs {
        let dir = std::env::temp_dir().join(format!("oxbpf-wf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Fs { dir }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oxbpf"));
        c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        c.env("OXBPF_FS", &self.dir);
        c.args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "oxbpf {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["-j"];
        a.extend_from_slice(args);
        let s = self.ok(&a);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{args:?}: {e}: {s}"))
    }

    pub fn objects(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.join(".objects"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Fs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// CPU 0's count under key `k` of the per-CPU counters, from `map dump -j`
/// (bpftool's `formatted` form, from BTF).
pub fn count(dump: &serde_json::Value, k: u64) -> u64 {
    let e = dump
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["formatted"]["key"] == k)
        .unwrap_or_else(|| panic!("no key {k} in {dump}"));
    e["formatted"]["values"][0]["value"].as_u64().unwrap()
}

pub fn packet(fs: &Fs) -> String {
    let p = fs.dir.join("packet.bin");
    std::fs::write(&p, [0u8; 64]).unwrap();
    p.display().to_string()
}

/// Runs bpftool (on the kernel, pins in the real bpffs); `None` when
/// bpftool or the kernel's bpf(2) is not available here.
pub fn bpftool(args: &[&str]) -> Option<Output> {
    Command::new("bpftool").args(args).output().ok()
}

/// A directory in the real bpffs for bpftool's pins, removed when the test
/// ends (passing or not).
pub struct KernelDir(pub String);

impl KernelDir {
    /// `/sys/fs/bpf/<name>-<pid>`, created; `None` when bpftool or bpffs is
    /// not usable here (the caller skips with a message).
    pub fn new(name: &str) -> Option<KernelDir> {
        let d = format!("/sys/fs/bpf/{name}-{}", std::process::id());
        let usable = bpftool(&["version"]).is_some_and(|o| o.status.success())
            && std::fs::create_dir_all(&d).is_ok();
        usable.then_some(KernelDir(d))
    }
}

impl Drop for KernelDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
