//! The pin directory across processes: programs restored without
//! verifying again, two processes updating one pinned map (from programs
//! and from the syscall side) losing nothing, a process killed mid-update
//! leaving the map consistent, reference semantics (an unpinned object
//! with no users is gone), and the errno of map operations and pins next to
//! the kernel's with its real bpffs.
//!
//! Child processes are this test binary again, run with `--exact
//! child_worker` and the work described in environment variables.

use oxbpf::pin::{ObjKind, PinFs, Pinned};
use oxbpf::{MapSpec, MapType, ProgType, ProgramDef, RawInsn, Runtime, RuntimeOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHILD: &str = "OXBPF_PIN_TEST_CHILD";

/// Tests of one process run on threads, and a child forked for one test
/// holds copies of every open descriptor until it execs — locks of other
/// tests' objects included, which would make "nobody uses it" flaky. So
/// these tests run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxbpf-pin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn runtime(dir: &Path) -> Runtime {
    PinFs::open(dir)
        .unwrap()
        .into_runtime(RuntimeOptions::default())
}

/// `*(u64 *)lookup(map, 0) += 1` atomically; returns 0.
fn counter_prog(map_id: u32) -> Vec<RawInsn> {
    vec![
        RawInsn::new(0xb7, 1, 0, 0, 0),             // r1 = 0
        RawInsn::new(0x63, 10, 1, -4, 0),           // *(u32 *)(r10 - 4) = r1
        RawInsn::new(0xbf, 2, 10, 0, 0),            // r2 = r10
        RawInsn::new(0x07, 2, 0, 0, -4),            // r2 += -4
        RawInsn::new(0x18, 1, 1, 0, map_id as i32), // r1 = map
        RawInsn::new(0, 0, 0, 0, 0),
        RawInsn::new(0x85, 0, 0, 0, 1), // call map_lookup_elem
        RawInsn::new(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
        RawInsn::new(0xb7, 1, 0, 0, 1), // r1 = 1
        RawInsn::new(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
        RawInsn::new(0xb7, 0, 0, 0, 0), // r0 = 0
        RawInsn::new(0x95, 0, 0, 0, 0), // exit
    ]
}

/// Creates and pins `count` (array of one u64), `keys` (a hash) and the
/// counting program `prog` in `dir`.
fn setup(dir: &Path, hash_entries: u32) -> (Runtime, oxbpf::Program) {
    let rt = runtime(dir);
    let count = rt
        .create_map(MapSpec::new(MapType::Array, 4, 8, 1).with_name("count"))
        .unwrap();
    let keys = rt
        .create_map(MapSpec::new(MapType::Hash, 4, 8, hash_entries).with_name("keys"))
        .unwrap();
    let insns = counter_prog(count.id());
    let prog = rt
        .load_program(
            ProgramDef {
                name: "count",
                prog_type: ProgType::Xdp,
                expected_attach_type: None,
                insns: &insns,
                maps: std::slice::from_ref(&count),
                license: "GPL",
            },
            &Default::default(),
        )
        .unwrap();
    count.pin(dir.join("count")).unwrap();
    keys.pin(dir.join("keys")).unwrap();
    prog.pin(dir.join("prog")).unwrap();
    (rt, prog)
}

fn spawn(work: &str, dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_worker",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, work)
        .env("OXBPF_PIN_TEST_DIR", dir)
        .spawn()
        .unwrap()
}

/// The other processes' side; does nothing in a normal test run.
#[test]
fn child_worker() {
    let Ok(work) = std::env::var(CHILD) else {
        return;
    };
    let dir = PathBuf::from(std::env::var("OXBPF_PIN_TEST_DIR").unwrap());
    let rt = runtime(&dir);
    let fs = rt.pin_fs().unwrap();
    let (what, arg) = work.split_once(':').unwrap();
    let arg: u32 = arg.parse().unwrap();
    match what {
        // Run the pinned program N times and insert keys arg*N.. into the
        // pinned hash.
        "count" => {
            let n = 20_000u32;
            let prog = fs.open_program(&rt, dir.join("prog")).unwrap();
            let keys = fs.open_map(&rt, dir.join("keys")).unwrap();
            let mut ctx = [0u8; 64];
            for i in 0..n {
                assert_eq!(prog.run_raw(&mut ctx).unwrap(), 0);
                let k = arg * n + i;
                keys.update(&k.to_le_bytes(), &u64::from(k).to_le_bytes(), 1)
                    .unwrap();
            }
        }
        // Insert and delete forever; say when well under way.
        "churn" => {
            let keys = fs.open_map(&rt, dir.join("keys")).unwrap();
            let mut i = 0u32;
            loop {
                let k = i % 64;
                let _ = keys.update(&k.to_le_bytes(), &[7; 8], 0);
                let _ = keys.delete(&((i + 32) % 64).to_le_bytes());
                i = i.wrapping_add(1);
                if i == 10_000 {
                    std::fs::write(dir.join("under_way"), b"").unwrap();
                }
            }
        }
        other => panic!("unknown work {other}"),
    }
}

#[test]
fn two_processes_lose_nothing() {
    let _serial = serial();
    let dir = tmpdir("two");
    let (rt, prog) = setup(&dir, 64 * 1024);
    let a = spawn("count:0", &dir);
    let b = spawn("count:1", &dir);
    for mut c in [a, b] {
        assert!(c.wait().unwrap().success());
    }
    let fs = rt.pin_fs().unwrap();
    let count = fs.open_map(&rt, dir.join("count")).unwrap();
    assert_eq!(count.id(), prog.maps()[0].id(), "one map, one id");
    let v = count.lookup(&0u32.to_le_bytes()).unwrap();
    assert_eq!(u64::from_le_bytes(v.try_into().unwrap()), 40_000);
    let keys = fs.open_map(&rt, dir.join("keys")).unwrap();
    let all = keys.keys().unwrap();
    assert_eq!(all.len(), 40_000);
    let r = keys.storage().check().unwrap();
    assert_eq!((r.live, r.leaked), (40_000, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_mid_update_leaves_map_consistent() {
    let _serial = serial();
    let dir = tmpdir("kill");
    let (rt, _prog) = setup(&dir, 64);
    drop(rt);
    let mut c = spawn("churn:0", &dir);
    while !dir.join("under_way").exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    c.kill().unwrap();
    c.wait().unwrap();
    // The first opener after the crash, alone: it checks and repairs.
    let rt = runtime(&dir);
    let keys = rt
        .pin_fs()
        .unwrap()
        .open_map(&rt, dir.join("keys"))
        .unwrap();
    let r = keys.storage().check().unwrap();
    assert_eq!(r.leaked, 0, "{r:?}");
    let live = keys.keys().unwrap();
    for k in &live {
        assert_eq!(keys.lookup(k).unwrap(), vec![7; 8]);
    }
    assert_eq!(live.len() as u64, r.live);
    // Every free element is usable: the map fills to exactly 64, then E2BIG.
    let mut added = 0;
    for k in 1000u32..1100 {
        match keys.update(&k.to_le_bytes(), &[1; 8], 1) {
            Ok(()) => added += 1,
            Err(e) => {
                assert_eq!(e.errno(), Some(7), "{e}");
                break;
            }
        }
    }
    assert_eq!(live.len() + added, 64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pinned_program_restores_without_verifying() {
    let _serial = serial();
    let dir = tmpdir("restore");
    let (rt, prog) = setup(&dir, 4);
    let (id, xlated, insns) = (prog.id(), prog.xlated().to_vec(), prog.insns().to_vec());
    // Another runtime (as another process would) opens it by pin.
    let rt2 = runtime(&dir);
    let fs2 = rt2.pin_fs().unwrap();
    let Pinned::Program(p2) = fs2.open_pinned(&rt2, dir.join("prog")).unwrap() else {
        panic!("not a program");
    };
    assert_eq!(p2.id(), id);
    assert_eq!(p2.xlated(), &xlated[..]);
    assert_eq!(p2.insns(), &insns[..]);
    assert_eq!(p2.name(), "count");
    assert_eq!(p2.prog_type(), ProgType::Xdp);
    assert!(p2.verifier_log().is_empty());
    let info = fs2.program_info(id).unwrap();
    assert_eq!(info.tag(), isa_tag(&insns));
    let mut ctx = [0u8; 8];
    p2.run_raw(&mut ctx).unwrap();
    prog.run_raw(&mut ctx).unwrap();
    let v = prog.maps()[0].lookup(&0u32.to_le_bytes()).unwrap();
    assert_eq!(v, 2u64.to_le_bytes(), "both runs counted in one shared map");
    // Ids are shared: a new map in either runtime gets a fresh one.
    let m1 = rt
        .create_map(MapSpec::new(MapType::Array, 4, 4, 1))
        .unwrap();
    let m2 = rt2
        .create_map(MapSpec::new(MapType::Array, 4, 4, 1))
        .unwrap();
    assert_ne!(m1.id(), m2.id());
    let _ = std::fs::remove_dir_all(&dir);
}

fn isa_tag(insns: &[RawInsn]) -> [u8; 8] {
    // The tag masks map ids, so it does not depend on them.
    let mut other = insns.to_vec();
    other[4].imm = 12345;
    oxbpf::pin::ProgInfo {
        id: 0,
        name: String::new(),
        prog_type: None,
        license: String::new(),
        loaded_at: std::time::SystemTime::UNIX_EPOCH,
        uid: 0,
        insns: other,
        xlated_len: 0,
        map_ids: Vec::new(),
        btf_id: None,
    }
    .tag()
}

#[test]
fn unpinned_and_unused_is_gone() {
    let _serial = serial();
    let dir = tmpdir("gone");
    let (rt, prog) = setup(&dir, 4);
    let fs = rt.pin_fs().unwrap();
    let (pid, count_id) = (prog.id(), prog.maps()[0].id());
    // Unpinned but still used by this process: still there.
    std::fs::remove_file(dir.join("prog")).unwrap();
    fs.gc().unwrap();
    assert!(fs.ids(ObjKind::Prog).unwrap().contains(&pid));
    // No user left: gone. Its map stays while pinned.
    drop(prog);
    drop(rt);
    let fs = PinFs::open(&dir).unwrap();
    assert!(!fs.ids(ObjKind::Prog).unwrap().contains(&pid));
    assert!(fs.ids(ObjKind::Map).unwrap().contains(&count_id));
    std::fs::remove_file(dir.join("count")).unwrap();
    std::fs::remove_file(dir.join("keys")).unwrap();
    assert!(fs.ids(ObjKind::Map).unwrap().is_empty());
    // A program keeps its maps even when they are not pinned.
    let (rt, prog) = setup(&dir, 4);
    let count_id = prog.maps()[0].id();
    for p in ["count", "keys"] {
        std::fs::remove_file(dir.join(p)).unwrap();
    }
    drop(prog);
    drop(rt);
    let fs = PinFs::open(&dir).unwrap();
    assert_eq!(fs.ids(ObjKind::Map).unwrap(), vec![count_id]);
    let rt = runtime(&dir);
    let p = fs.open_program(&rt, dir.join("prog")).unwrap();
    let mut ctx = [0u8; 8];
    p.run_raw(&mut ctx).unwrap();
    assert_eq!(
        p.maps()[0].lookup(&0u32.to_le_bytes()).unwrap(),
        1u64.to_le_bytes()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same operations on a kernel map pinned in the real bpffs and on
/// ours: same errno at every step.
#[test]
fn map_errnos_match_the_kernel() {
    let _serial = serial();
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    if !Path::new("/sys/fs/bpf").is_dir() {
        eprintln!("SKIP: no bpffs at /sys/fs/bpf");
        return;
    }
    let dir = tmpdir("errno");
    let rt = runtime(&dir);
    let ours = rt
        .create_map(MapSpec::new(MapType::Hash, 4, 8, 4).with_name("flows"))
        .unwrap();
    ours.pin(dir.join("flows")).unwrap();
    let theirs = k
        .create_map(&testkit::kernel::MapCreate::new(MapType::Hash, 4, 8, 4))
        .unwrap();
    let kpin = PathBuf::from(format!("/sys/fs/bpf/oxbpf-pin-test-{}", std::process::id()));
    let _ = std::fs::remove_file(&kpin);
    let pinned = theirs.pin(&kpin);
    // Reopen both by pin, as another process would.
    let rt2 = runtime(&dir);
    let ours = rt2
        .pin_fs()
        .unwrap()
        .open_map(&rt2, dir.join("flows"))
        .unwrap();
    let theirs = match pinned {
        Ok(()) => k.map_from_pin(&kpin).unwrap(),
        Err(e) => {
            eprintln!("SKIP: cannot pin in /sys/fs/bpf: {e}");
            return;
        }
    };
    let kerr = |r: Result<(), testkit::kernel::KernelError>| match r {
        Ok(()) => 0,
        Err(testkit::kernel::KernelError::Syscall { errno, .. }) => errno,
        Err(e) => panic!("{e}"),
    };
    let oerr = |r: oxbpf::Result<()>| r.err().map_or(0, |e| e.errno().unwrap());
    let steps: Vec<(u32, u64)> = vec![
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 1),
        (5, 0),
        (5, 1),
        (4, 1),
        (4, 2),
        (9, 2),
    ];
    for (key, flags) in steps {
        let (kk, v) = (key.to_le_bytes(), [key as u8; 8]);
        assert_eq!(
            oerr(ours.update(&kk, &v, flags)),
            kerr(theirs.update(&kk, &v, flags)),
            "update key {key} flags {flags}"
        );
    }
    assert_eq!(
        oerr(ours.delete(&9u32.to_le_bytes())),
        kerr(theirs.delete(&9u32.to_le_bytes()))
    );
    let mut a = ours.keys().unwrap();
    let mut b = theirs.keys().unwrap();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // Pinning twice: EEXIST both.
    assert_eq!(ours.pin(dir.join("flows")).unwrap_err().errno(), Some(17));
    let again = theirs.pin(&kpin);
    assert_eq!(kerr(again), 17);
    let _ = std::fs::remove_file(&kpin);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn per_cpu_map_needs_as_many_slots_as_workers() {
    let _serial = serial();
    let dir = tmpdir("percpu");
    let two = PinFs::open(&dir).unwrap().into_runtime(RuntimeOptions {
        workers: 2,
        ..Default::default()
    });
    let m = two
        .create_map(MapSpec::new(MapType::PercpuArray, 4, 8, 1))
        .unwrap();
    m.pin(dir.join("pc")).unwrap();
    let four = PinFs::open(&dir).unwrap().into_runtime(RuntimeOptions {
        workers: 4,
        ..Default::default()
    });
    let err = four
        .pin_fs()
        .unwrap()
        .open_map(&four, dir.join("pc"))
        .unwrap_err();
    assert_eq!(err.errno(), Some(22), "{err}");
    let one = PinFs::open(&dir).unwrap().into_runtime(RuntimeOptions {
        workers: 1,
        ..Default::default()
    });
    let m1 = one
        .pin_fs()
        .unwrap()
        .open_map(&one, dir.join("pc"))
        .unwrap();
    assert_eq!(m1.value_size(), 16, "two slots of 8 bytes, as created");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pins_stay_inside_the_pin_directory() {
    let _serial = serial();
    let dir = tmpdir("inside");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.with_extension("link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    // Reached through a symlink: fine, new directories included.
    let rt = runtime(&link);
    let m = rt
        .create_map(MapSpec::new(MapType::Array, 4, 4, 1))
        .unwrap();
    m.pin(link.join("a/b/m")).unwrap();
    assert!(dir.join("a/b/m").is_file());
    // `..` out of it, the store itself, and elsewhere: refused, and no
    // directory made on the way.
    let escape = link.join("a/../../escaped-dir/m");
    assert_eq!(m.pin(&escape).unwrap_err().errno(), Some(1));
    assert!(!dir.parent().unwrap().join("escaped-dir").exists());
    assert_eq!(m.pin(dir.join(".objects/x")).unwrap_err().errno(), Some(1));
    // /sys/fs/bpf names are read as paths of the pin directory.
    m.pin("/sys/fs/bpf/via-bpffs-name").unwrap();
    assert!(dir.join("via-bpffs-name").is_file());
    assert_eq!(m.pin(dir.join("a/b/m")).unwrap_err().errno(), Some(17));
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_dir_all(&dir);
}
