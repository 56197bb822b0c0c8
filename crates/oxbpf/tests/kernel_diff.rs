//! The runtime against Linux: every packet program of the C corpus that the
//! kernel accepts runs here and in the kernel (`BPF_PROG_TEST_RUN`) on the
//! same packets — the repo's capture `testdata/cbpf/mix.pcap` (IPv4/IPv6,
//! TCP/UDP/ICMP, VLAN, ARP, fragments, truncated frames and garbage) plus
//! packets built for the corpus programs' own rules — and the retval, the
//! output packet and every map's contents after each program must be
//! identical.
//!
//! The kernel side is loaded by `bpftool prog loadall … pinmaps …` (libbpf,
//! exactly as users load the objects) and driven through testkit's
//! `bpf(2)` wrapper. The test thread is pinned to CPU 0 so per-CPU map
//! slots line up with worker 0 here. The test skips, saying so, when
//! `bpf(2)` or bpftool is unavailable.

use oxbpf::{LoadOptions, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::kernel::{Kernel, TestRun};

mod common;
use common::{capture, comparable, contents, packet_type, repo, Contents};

/// Objects not compared yet, each with why (besides those that do not load
/// yet, [`common::KNOWN`]).
const SKIP: &[(&str, &str)] = &[];

/// Pins this thread to CPU 0 so that the kernel's test runs use CPU 0's
/// per-CPU slots, as worker 0 does here.
fn pin_to_cpu0() {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity only touch that local set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

struct KernelSide {
    dir: PathBuf,
    progs: BTreeMap<String, testkit::kernel::Prog>,
    maps: BTreeMap<String, testkit::kernel::Map>,
}

impl Drop for KernelSide {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(maps_dir(&self.dir));
    }
}

/// Where bpftool pins an object's maps (no dots: libbpf turns every `.` of
/// a pin path into `_`).
fn maps_dir(dir: &Path) -> PathBuf {
    PathBuf::from(format!("{}_maps", dir.display()))
}

/// A map name as libbpf pins it (`.` → `_`).
fn pin_name(name: &str) -> String {
    name.replace('.', "_")
}

fn load_kernel(k: &Kernel, obj: &Path, stem: &str) -> Result<KernelSide, String> {
    let dir = PathBuf::from(format!(
        "/sys/fs/bpf/oxbpf_diff_{}_{stem}",
        std::process::id()
    ));
    let maps_dir = maps_dir(&dir);
    let out = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(obj)
        .arg(&dir)
        .arg("pinmaps")
        .arg(&maps_dir)
        .output()
        .map_err(|e| format!("bpftool: {e}"))?;
    let mut side = KernelSide {
        dir: dir.clone(),
        progs: BTreeMap::new(),
        maps: BTreeMap::new(),
    };
    if !out.status.success() {
        return Err(format!(
            "bpftool prog loadall: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    for e in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
        let p = e.map_err(|e| e.to_string())?.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        side.progs
            .insert(name, k.prog_from_pin(&p).map_err(|e| e.to_string())?);
    }
    if let Ok(rd) = std::fs::read_dir(&maps_dir) {
        for e in rd {
            let p = e.map_err(|e| e.to_string())?.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            side.maps
                .insert(name, k.map_from_pin(&p).map_err(|e| e.to_string())?);
        }
    }
    Ok(side)
}

fn kernel_contents(m: &testkit::kernel::Map) -> Contents {
    let mut c = Contents::new();
    for key in m.keys().unwrap_or_default() {
        if let Ok(Some(v)) = m.lookup(&key) {
            c.insert(key, v);
        }
    }
    c
}

/// What one run gave: `(retval, data_out)` or the errno of a refused run.
type Outcome = Result<(u32, Vec<u8>), i32>;

fn run_kernel(p: &testkit::kernel::Prog, data: &[u8]) -> Outcome {
    p.test_run(&TestRun {
        data_in: data,
        data_out_capacity: Some(data.len() as u32 + 4096),
        ..Default::default()
    })
    .map(|o| (o.retval, o.data_out))
    .map_err(|e| e.errno().unwrap_or(-1))
}

fn run_ours(p: &oxbpf::Program, data: &[u8]) -> Outcome {
    let input = oxbpf::TestRunInput {
        data_in: data,
        data_size_out: Some(data.len() as u32 + 4096),
        ..Default::default()
    };
    p.test_run(&input)
        .map(|o| (o.retval, o.data_out))
        .map_err(|e| {
            if std::env::var_os("KDIFF_VERBOSE").is_some() {
                eprintln!("{}: {e}", p.name());
            }
            e.errno().unwrap_or(-1)
        })
}

#[test]
fn interpreter_matches_linux_on_corpus_packet_programs() {
    compare(oxbpf::Engine::Interpreter, &corpus_objects(), true);
}

#[test]
fn jit_matches_linux_on_corpus_packet_programs() {
    compare(oxbpf::Engine::Jit, &corpus_objects(), true);
}

/// The same on objects nobody here wrote: the external corpus
/// (`scripts/fetch-external-corpus.sh`: kernel selftests, xdp-tools), when
/// it has been fetched. Objects oxbpf cannot load yet (helpers, program
/// types, maps it lacks) are counted, not compared.
#[test]
fn both_engines_match_linux_on_external_packet_programs() {
    let Some(objects) = external_objects() else {
        eprintln!(
            "SKIPPED: no external corpus (run scripts/fetch-external-corpus.sh as root to fetch it)"
        );
        return;
    };
    for engine in [oxbpf::Engine::Jit, oxbpf::Engine::Interpreter] {
        compare(engine, &objects, false);
    }
}

/// `(stem, object)` for every corpus object Linux loads, less [`SKIP`] and
/// [`common::KNOWN`].
fn corpus_objects() -> Vec<(String, PathBuf)> {
    let mut names: Vec<_> = std::fs::read_dir(repo().join("corpus/expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for exp_path in names {
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&exp_path).unwrap()).unwrap();
        let stem = exp_path.file_stem().unwrap().to_string_lossy().to_string();
        if exp["object_verdict"] != "accepted"
            || SKIP.iter().chain(common::KNOWN).any(|(n, _)| *n == stem)
        {
            continue;
        }
        let obj = repo().join("corpus/obj").join(format!("{stem}.o"));
        out.push((stem, obj));
    }
    out
}

/// External objects not compared, each with why.
const EXTERNAL_SKIP: &[(&str, &str)] = &[(
    "selftests_test_global_func16_o",
    "returns whether an element of its stack array that nothing wrote is \
     non-zero (privileged programs may read uninitialised stack): \
     whatever the stack held, in each engine and in Linux",
)];

/// `(source_stem, object)` for every external object Linux loaded whole
/// and that has a packet program (by libbpf's section names), less
/// [`EXTERNAL_SKIP`].
fn external_objects() -> Option<Vec<(String, PathBuf)>> {
    let base = repo().join("target/external-corpus");
    let text = std::fs::read_to_string(base.join("manifest.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    let packet_section = |s: &str| {
        let kind = s.split('/').next().unwrap_or("");
        matches!(kind, "xdp" | "tc" | "classifier" | "socket" | "cgroup_skb")
    };
    let mut out = Vec::new();
    for obj in manifest["objects"].as_array()? {
        let progs = obj["programs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if obj["object_verdict"] != "accepted"
            || !progs
                .iter()
                .any(|p| packet_section(p["section"].as_str().unwrap_or("")))
        {
            continue;
        }
        let rel = obj["object"].as_str()?;
        let stem = rel.replace(['/', '.'], "_");
        if EXTERNAL_SKIP.iter().any(|(n, _)| *n == stem) {
            continue;
        }
        out.push((stem, base.join(rel)));
    }
    Some(out)
}

fn compare(engine: oxbpf::Engine, objects: &[(String, PathBuf)], must_load: bool) {
    let Some(k) = testkit::kernel::require_kernel() else {
        return;
    };
    if Command::new("bpftool").arg("version").output().is_err() {
        eprintln!("SKIPPED: bpftool is not installed (apt-get install bpftool)");
        return;
    }
    // Per-CPU maps have a slot per possible CPU in the kernel.
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1) as u32;
    let rt = Runtime::with_options(oxbpf::RuntimeOptions {
        workers: cpus,
        engine,
        ..Default::default()
    });
    pin_to_cpu0();
    let packets = capture();
    let mut diffs = Vec::new();
    let (mut compared_runs, mut compared_progs, mut compared_maps) = (0usize, 0usize, 0usize);
    let mut not_loaded = 0;
    for (stem, obj_path) in objects {
        let stem = stem.clone();
        let ours = match rt.load_file(obj_path, &LoadOptions::default()) {
            Ok(o) => o,
            Err(e) if must_load => {
                diffs.push(format!("{stem}: oxbpf cannot load it: {e}"));
                continue;
            }
            Err(_) => {
                not_loaded += 1;
                continue;
            }
        };
        if !ours.programs().iter().any(|p| packet_type(p.prog_type())) {
            continue;
        }
        let theirs = match load_kernel(&k, obj_path, &stem) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{stem}: kernel side not loadable here ({e}); not compared");
                continue;
            }
        };
        for prog in ours.programs() {
            if !packet_type(prog.prog_type()) {
                continue;
            }
            // bpftool pins programs by their whole name (15-byte names may
            // collide: `balancer_ingress_v4`, `_v6`).
            let Some(kp) = theirs.progs.get(prog.func_name()) else {
                diffs.push(format!("{stem}::{}: not pinned by bpftool", prog.name()));
                continue;
            };
            compared_progs += 1;
            if prog.engine() != engine {
                diffs.push(format!(
                    "{stem}::{}: runs on {:?}, not {engine:?}: {}",
                    prog.name(),
                    prog.engine(),
                    prog.jit_error().unwrap_or_default()
                ));
                continue;
            }
            for (i, pkt) in packets.iter().enumerate() {
                let a = run_kernel(kp, pkt);
                let b = run_ours(prog, pkt);
                compared_runs += 1;
                if a != b {
                    diffs.push(format!(
                        "{stem}::{} packet {i} ({} bytes): kernel {:?}, oxbpf {:?}",
                        prog.name(),
                        pkt.len(),
                        a.as_ref().map(|(r, d)| (r, d.len())),
                        b.as_ref().map(|(r, d)| (r, d.len()))
                    ));
                    break;
                }
            }
            // Every map after this program's runs.
            for m in ours.maps() {
                // Names are cut to 15 bytes in the kernel; pins use libbpf's
                // full name.
                let Some(km) = theirs
                    .maps
                    .iter()
                    .find(|(n, _)| n.starts_with(&pin_name(m.name())))
                    .map(|(_, km)| km)
                else {
                    diffs.push(format!("{stem}: map {} not pinned by bpftool", m.name()));
                    continue;
                };
                compared_maps += 1;
                let a = comparable(&stem, m.name(), m.map_type(), kernel_contents(km));
                let b = comparable(&stem, m.name(), m.map_type(), contents(m));
                if a != b {
                    diffs.push(format!(
                        "{stem}::{} map {}: kernel has {} entries, oxbpf {}; first difference: kernel {:?}, oxbpf {:?}",
                        prog.name(),
                        m.name(),
                        a.len(),
                        b.len(),
                        a.iter().zip(b.iter()).find(|(x, y)| x != y).map(|(x, _)| x),
                        a.iter().zip(b.iter()).find(|(x, y)| x != y).map(|(_, y)| y),
                    ));
                }
            }
        }
    }
    eprintln!(
        "{engine:?}: {compared_progs} programs, {compared_runs} runs and {compared_maps} map snapshots compared with the kernel"
    );
    if !must_load {
        eprintln!("{engine:?}: {not_loaded} objects oxbpf cannot load yet, not compared");
    }
    assert!(compared_progs > 0, "nothing was compared");
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
