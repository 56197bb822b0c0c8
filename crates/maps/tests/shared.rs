//! File-backed maps shared by independent mappings and processes, and what a
//! process killed mid-update leaves behind.
//!
//! The multi-process tests re-run this test binary as the child process
//! (`OXBPF_MAPS_CHILD` names the role and the map files), so the child is a
//! fresh process that opens the maps by path, as another program would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use oxbpf_maps::{Backing, Map, MapError, MapOptions, MapSpec};
use uapi::map::create_flags::BPF_F_NO_PREALLOC;
use uapi::map::update_flags::*;
use uapi::MapType as T;

const CHILD_ENV: &str = "OXBPF_MAPS_CHILD";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxbpf-maps-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file_opts(path: &Path, ncpus: u32) -> MapOptions {
    MapOptions {
        backing: Backing::File(path.to_owned()),
        ..MapOptions::new(ncpus)
    }
}

fn spawn_child(role: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{role}:{}", dir.display()))
        .spawn()
        .unwrap()
}

/// The child side of the multi-process tests; a no-op in a normal run.
#[test]
fn child_entry() {
    let Ok(arg) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (role, d) = arg.split_once(':').unwrap();
    let d = Path::new(d);
    match role {
        "hammer" => hammer(d),
        "produce" => {
            let rb = Map::open(&d.join("rb")).unwrap();
            let r = rb.ringbuf().unwrap();
            for i in 0u32..1000 {
                while r.output(&i.to_ne_bytes(), 0).is_err() {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
        _ => panic!("unknown role {role}"),
    }
}

/// Update and delete as fast as possible until killed.
fn hammer(d: &Path) {
    let h = Map::open(&d.join("hash")).unwrap();
    let l = Map::open(&d.join("lru")).unwrap();
    let t = Map::open(&d.join("lpm")).unwrap();
    let q = Map::open(&d.join("queue")).unwrap();
    let mut x: u32 = 12345;
    loop {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let key = (x % 96).to_ne_bytes();
        let val = u64::from(x).to_ne_bytes();
        match x % 5 {
            0 | 1 => drop(h.update(&key, &val, BPF_ANY)),
            2 => drop(h.delete(&key)),
            3 => drop(h.lookup_and_delete(&key, 0)),
            _ => drop(h.update(&key, &val, BPF_EXIST)),
        }
        drop(l.update(&key, &val, BPF_ANY));
        let mut lk = [0u8; 8];
        lk[..4].copy_from_slice(&(x % 33).to_ne_bytes());
        lk[4..].copy_from_slice(&(x >> 7).to_be_bytes());
        if x.is_multiple_of(3) {
            drop(t.delete(&lk));
        } else {
            drop(t.update(&lk, &[1, 2, 3, 4], BPF_ANY));
        }
        if x.is_multiple_of(2) {
            drop(q.push(&key, BPF_EXIST));
        } else {
            drop(q.pop());
        }
    }
}

#[test]
fn two_mappings_of_one_file_share_the_map() {
    let d = dir("two");
    let path = d.join("m");
    let spec = MapSpec::new(T::Hash, 4, 8, 16).with_name("shared");
    let a = Map::create(spec.clone(), &file_opts(&path, 2)).unwrap();
    let b = Map::open(&path).unwrap();
    assert_eq!(b.spec(), a.spec());
    assert_eq!(b.ncpus(), 2);
    a.update(&1u32.to_ne_bytes(), &7u64.to_ne_bytes(), BPF_ANY)
        .unwrap();
    assert_eq!(b.lookup(&1u32.to_ne_bytes()).unwrap(), 7u64.to_ne_bytes());
    b.delete(&1u32.to_ne_bytes()).unwrap();
    assert!(matches!(
        a.lookup(&1u32.to_ne_bytes()),
        Err(MapError::NotFound)
    ));
    // Values have one address per mapping but the same memory.
    a.update(&2u32.to_ne_bytes(), &0u64.to_ne_bytes(), BPF_ANY)
        .unwrap();
    let pa = a.lookup_ptr(&2u32.to_ne_bytes(), 0);
    let pb = b.lookup_ptr(&2u32.to_ne_bytes(), 0);
    assert_ne!(pa, pb);
    // SAFETY: live 8-aligned value slots of the two mappings.
    unsafe {
        std::sync::atomic::AtomicU64::from_ptr(pa.cast())
            .fetch_add(5, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(*(pb as *const u64), 5);
    }
    a.freeze().unwrap();
    assert!(b.is_frozen());
    assert!(matches!(
        Map::create(spec, &file_opts(&path, 2)),
        Err(MapError::Exists)
    ));
    // Every map type round-trips through a file.
    let specs = [
        MapSpec::new(T::Array, 4, 12, 3),
        MapSpec::new(T::PercpuArray, 4, 4, 3),
        MapSpec::new(T::LruPercpuHash, 4, 4, 3),
        MapSpec::new(T::LpmTrie, 8, 4, 3).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::Stack, 0, 4, 3),
        MapSpec::new(T::BloomFilter, 0, 4, 3),
        MapSpec::new(T::ProgArray, 4, 4, 3),
        MapSpec::new(T::ArrayOfMaps, 4, 4, 3).with_inner(MapSpec::new(T::Array, 4, 4, 1)),
        MapSpec::new(T::Ringbuf, 0, 0, 8192),
        MapSpec::new(T::PerfEventArray, 4, 4, 2),
    ];
    for (i, s) in specs.into_iter().enumerate() {
        let p = d.join(format!("t{i}"));
        let m = Map::create(s.clone(), &file_opts(&p, 2)).unwrap();
        let o = Map::open(&p).unwrap();
        assert_eq!(o.spec(), m.spec());
    }
    // A file that is not a map is refused.
    std::fs::write(d.join("junk"), vec![0u8; 8192]).unwrap();
    assert!(matches!(
        Map::open(&d.join("junk")),
        Err(MapError::BadImage { .. })
    ));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn ringbuf_wakes_a_consumer_in_another_process() {
    let d = dir("rb");
    let rb = Map::create(
        MapSpec::new(T::Ringbuf, 0, 0, 4096),
        &file_opts(&d.join("rb"), 1),
    )
    .unwrap();
    let mut child = spawn_child("produce", &d);
    let r = rb.ringbuf().unwrap();
    let mut c = r.consumer();
    let mut next = 0u32;
    let deadline = Instant::now() + Duration::from_secs(60);
    while next < 1000 && Instant::now() < deadline {
        c.wait(Some(Duration::from_secs(1)));
        c.poll(|s| {
            assert_eq!(s, next.to_ne_bytes());
            next += 1;
        });
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(next, 1000);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_process_killed_mid_update_leaves_a_consistent_map() {
    let d = dir("crash");
    let o = |n: &str| file_opts(&d.join(n), 2);
    let h = Map::create(MapSpec::new(T::Hash, 4, 8, 64), &o("hash")).unwrap();
    let l = Map::create(MapSpec::new(T::LruHash, 4, 8, 32), &o("lru")).unwrap();
    let t = Map::create(
        MapSpec::new(T::LpmTrie, 8, 4, 24).with_flags(BPF_F_NO_PREALLOC),
        &o("lpm"),
    )
    .unwrap();
    let q = Map::create(MapSpec::new(T::Queue, 0, 4, 16), &o("queue")).unwrap();
    let mut leaked_total = 0;
    for round in 0..20u64 {
        let mut child = spawn_child("hammer", &d);
        std::thread::sleep(Duration::from_millis(60 + 13 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        // Readable and consistent: every listed key is found, once.
        for m in [&h, &l, &t] {
            let keys = m.keys().unwrap();
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                keys.len(),
                "duplicate key in {:?}",
                m.map_type()
            );
            for k in &keys {
                m.lookup(k).unwrap();
            }
            let r = m.check().unwrap();
            assert!(r.live >= keys.len() as u64);
            leaked_total += r.leaked;
            // Whatever the child left, repair gives it back.
            m.repair().unwrap();
            assert_eq!(m.check().unwrap().leaked, 0);
        }
        // Writable again (a lock held by the dead child is taken over).
        h.update(&1000u32.to_ne_bytes(), &[0; 8], BPF_ANY).ok();
        h.delete(&1000u32.to_ne_bytes()).ok();
        l.update(&1000u32.to_ne_bytes(), &[0; 8], BPF_ANY).unwrap();
        t.update(&[8, 0, 0, 0, 1, 2, 3, 4], &[0; 4], BPF_ANY).ok();
        q.push(&[1, 2, 3, 4], BPF_EXIST).unwrap();
        q.pop().unwrap();
    }
    eprintln!("leaked elements reclaimed over all rounds: {leaked_total}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Redirect, socket and stack maps are file-backed like the others: a
/// second handle opened by path sees the entries, and writes through it are
/// seen by the first.
#[test]
fn redirect_and_stack_maps_open_from_files() {
    let d = dir("targets");
    let k = |i: u32| i.to_ne_bytes();
    let specs = [
        MapSpec::new(T::Devmap, 4, 8, 4),
        MapSpec::new(T::DevmapHash, 4, 4, 4),
        MapSpec::new(T::Cpumap, 4, 4, 2),
        MapSpec::new(T::Xskmap, 4, 4, 4),
        MapSpec::new(T::Sockmap, 4, 8, 4),
        MapSpec::new(T::Sockhash, 4, 8, 4),
        MapSpec::new(T::CgroupArray, 4, 4, 4),
    ];
    for spec in specs {
        let path = d.join(spec.map_type.to_string());
        let a = Map::create(spec.clone(), &file_opts(&path, 2)).unwrap();
        // First word 1: ifindex, qsize, socket or cgroup number 1.
        let mut value = vec![0u8; spec.value_size as usize];
        value[0] = 1;
        a.update(&k(1), &value, BPF_ANY).unwrap();
        let b = Map::open(&path).unwrap();
        assert_eq!(b.spec(), a.spec());
        let t = b
            .redirect_target(&k(1))
            .expect("entry seen by the second handle");
        assert_eq!(t, a.redirect_target(&k(1)).unwrap(), "{spec:?}");
        b.delete(&k(1)).unwrap();
        assert!(a.redirect_target(&k(1)).is_none(), "{spec:?}");
    }
    let path = d.join("stack");
    let a = Map::create(MapSpec::new(T::StackTrace, 4, 32, 8), &file_opts(&path, 1)).unwrap();
    let id = a.stack_store(&[0x10, 0x20], 0).unwrap();
    let b = Map::open(&path).unwrap();
    assert_eq!(b.stack_store(&[0x10, 0x20], 0).unwrap(), id);
    assert_eq!(
        &b.lookup(&id.to_ne_bytes()).unwrap()[..8],
        &0x10u64.to_ne_bytes()
    );
    assert_eq!(b.check().unwrap().live, 1);
    let _ = std::fs::remove_dir_all(&d);
}
