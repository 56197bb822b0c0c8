//! The map helpers called directly: every errno path, ring buffer and perf
//! output read back by their consumers, spin locks, checked-mode faults.
//! Programs compared with the kernel are in `helpers_maps_programs.rs`.

mod helpers_support;

use helpers_support::*;
use maps::{MapSpec, PerfRecord};
use oxbpf_vm::helpers::maps as h;
use oxbpf_vm::{HelperHost, RegionKind, RunEnv};
use std::sync::Arc;
use uapi::map::update_flags::{BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use uapi::MapType;

const ENOENT: i64 = -2;
const E2BIG: i64 = -7;
const EAGAIN: i64 = -11;
const EEXIST: i64 = -17;
const EINVAL: i64 = -22;
const EOPNOTSUPP: i64 = -95;

/// Calls helper `f` with the maps in the host of a checked (or unchecked)
/// run, with `mem` as a region; returns r0 and whether it faulted.
fn call(
    f: oxbpf_vm::HelperFn,
    maps: &[Arc<maps::Map>],
    checked: bool,
    worker: u32,
    args: impl FnOnce(u64) -> [u64; 5],
    mem: &mut [u8],
) -> (i64, bool) {
    let mut host = HelperHost::new(maps.to_vec());
    let mut env = RunEnv::new();
    let base = env.add_region(mem, RegionKind::Other);
    host.add_map_regions(&mut env);
    env.set_worker(worker);
    env.set_host(&mut host);
    if !checked {
        // SAFETY: the tests pass valid pointers; this only turns the mode.
        let _ = unsafe { env.begin_compiled_run() };
    }
    let a = args(base);
    // SAFETY: arguments point into `mem` or at live maps.
    let r = unsafe { f(a[0], a[1], a[2], a[3], a[4], &mut env) };
    let mark = env.regions().len();
    let faulted = env.end_compiled_run(mark).is_some();
    (r as i64, faulted)
}

fn addr(m: &Arc<maps::Map>) -> u64 {
    HelperHost::map_addr(m)
}

#[test]
fn hash_update_lookup_delete_errnos() {
    let m = our_map(MapSpec::new(MapType::Hash, 4, 8, 2), 1);
    let ms = [m.clone()];
    let a = addr(&m);
    // mem: key at 0, value at 8.
    let mut mem = [0u8; 16];
    mem[0] = 1;
    mem[8..].copy_from_slice(&77u64.to_ne_bytes());
    for checked in [true, false] {
        let _ = m.delete(&[1, 0, 0, 0]);
        let up = |flags: u64, mem: &mut [u8]| {
            call(
                h::map_update_elem,
                &ms,
                checked,
                0,
                |b| [a, b, b + 8, flags, 0],
                mem,
            )
            .0
        };
        assert_eq!(up(BPF_EXIST, &mut mem), ENOENT);
        assert_eq!(up(BPF_NOEXIST, &mut mem), 0);
        assert_eq!(up(BPF_NOEXIST, &mut mem), EEXIST);
        assert_eq!(up(BPF_ANY, &mut mem), 0);
        assert_eq!(up(8, &mut mem), EINVAL, "unknown flag");
        let (p, _) = call(
            h::map_lookup_elem,
            &ms,
            checked,
            0,
            |b| [a, b, 0, 0, 0],
            &mut mem,
        );
        assert_ne!(p, 0);
        // SAFETY: a value pointer of a live map.
        assert_eq!(unsafe { *(p as *const u64) }, 77);
        let del = |mem: &mut [u8]| {
            call(
                h::map_delete_elem,
                &ms,
                checked,
                0,
                |b| [a, b, 0, 0, 0],
                mem,
            )
            .0
        };
        assert_eq!(del(&mut mem), 0);
        assert_eq!(del(&mut mem), ENOENT);
        let (p, _) = call(
            h::map_lookup_elem,
            &ms,
            checked,
            0,
            |b| [a, b, 0, 0, 0],
            &mut mem,
        );
        assert_eq!(p, 0);
    }
    // Full: a third key.
    for k in 0..2u8 {
        m.update(&[k + 10, 0, 0, 0], &[0; 8], BPF_ANY).unwrap();
    }
    assert_eq!(
        call(
            h::map_update_elem,
            &ms,
            true,
            0,
            |b| [a, b, b + 8, BPF_ANY, 0],
            &mut mem
        )
        .0,
        E2BIG
    );
}

#[test]
fn array_and_percpu() {
    let arr = our_map(MapSpec::new(MapType::Array, 4, 8, 4), 1);
    let pc = our_map(MapSpec::new(MapType::PercpuArray, 4, 8, 4), 3);
    let ms = [arr.clone(), pc.clone()];
    let mut mem = [0u8; 16];
    mem[0] = 2;
    mem[8] = 9;
    let (a, p) = (addr(&arr), addr(&pc));
    assert_eq!(
        call(
            h::map_update_elem,
            &ms,
            true,
            0,
            |b| [a, b, b + 8, BPF_NOEXIST, 0],
            &mut mem
        )
        .0,
        EEXIST
    );
    assert_eq!(
        call(
            h::map_delete_elem,
            &ms,
            true,
            0,
            |b| [a, b, 0, 0, 0],
            &mut mem
        )
        .0,
        EINVAL
    );
    mem[0] = 4;
    assert_eq!(
        call(
            h::map_update_elem,
            &ms,
            true,
            0,
            |b| [a, b, b + 8, BPF_ANY, 0],
            &mut mem
        )
        .0,
        E2BIG
    );
    mem[0] = 2;
    // Per-CPU: worker 2 writes its slot; percpu lookup reads any worker's.
    assert_eq!(
        call(
            h::map_update_elem,
            &ms,
            true,
            2,
            |b| [p, b, b + 8, BPF_ANY, 0],
            &mut mem
        )
        .0,
        0
    );
    let v = pc.lookup(&[2, 0, 0, 0]).unwrap();
    assert_eq!((v[0], v[8], v[16]), (0, 0, 9));
    let (w2, _) = call(
        h::map_lookup_percpu_elem,
        &ms,
        true,
        0,
        |b| [p, b, 2, 0, 0],
        &mut mem,
    );
    let (own, _) = call(
        h::map_lookup_elem,
        &ms,
        true,
        2,
        |b| [p, b, 0, 0, 0],
        &mut mem,
    );
    assert_eq!(w2, own);
    assert_ne!(w2, 0);
    assert_eq!(
        call(
            h::map_lookup_percpu_elem,
            &ms,
            true,
            0,
            |b| [p, b, 3, 0, 0],
            &mut mem
        )
        .0,
        0
    );
    // Not a per-CPU map: no per-CPU lookup.
    assert_eq!(
        call(
            h::map_lookup_percpu_elem,
            &ms,
            true,
            0,
            |b| [a, b, 0, 0, 0],
            &mut mem
        )
        .0,
        0
    );
}

#[test]
fn queue_stack_bloom() {
    let q = our_map(MapSpec::new(MapType::Queue, 0, 8, 2), 1);
    let s = our_map(MapSpec::new(MapType::Stack, 0, 8, 2), 1);
    let bl = our_map(MapSpec::new(MapType::BloomFilter, 0, 8, 16), 1);
    let ms = [q.clone(), s.clone(), bl.clone()];
    let mut mem = [0u8; 8];
    for (m, order) in [(&q, [1u8, 2]), (&s, [2, 1])] {
        let a = addr(m);
        assert_eq!(
            call(h::map_pop_elem, &ms, true, 0, |b| [a, b, 0, 0, 0], &mut mem).0,
            ENOENT
        );
        for v in [1u8, 2] {
            mem[0] = v;
            assert_eq!(
                call(
                    h::map_push_elem,
                    &ms,
                    true,
                    0,
                    |b| [a, b, BPF_ANY, 0, 0],
                    &mut mem
                )
                .0,
                0
            );
        }
        mem[0] = 3;
        assert_eq!(
            call(
                h::map_push_elem,
                &ms,
                true,
                0,
                |b| [a, b, BPF_ANY, 0, 0],
                &mut mem
            )
            .0,
            E2BIG
        );
        assert_eq!(
            call(
                h::map_push_elem,
                &ms,
                true,
                0,
                |b| [a, b, BPF_NOEXIST, 0, 0],
                &mut mem
            )
            .0,
            EINVAL
        );
        assert_eq!(
            call(
                h::map_peek_elem,
                &ms,
                true,
                0,
                |b| [a, b, 0, 0, 0],
                &mut mem
            )
            .0,
            0
        );
        assert_eq!(mem[0], order[0]);
        for want in order {
            assert_eq!(
                call(
                    h::map_pop_elem,
                    &ms,
                    false,
                    0,
                    |b| [a, b, 0, 0, 0],
                    &mut mem
                )
                .0,
                0
            );
            assert_eq!(mem[0], want);
        }
    }
    let a = addr(&bl);
    mem[0] = 42;
    assert_eq!(
        call(
            h::map_peek_elem,
            &ms,
            true,
            0,
            |b| [a, b, 0, 0, 0],
            &mut mem
        )
        .0,
        ENOENT
    );
    assert_eq!(
        call(
            h::map_push_elem,
            &ms,
            true,
            0,
            |b| [a, b, BPF_ANY, 0, 0],
            &mut mem
        )
        .0,
        0
    );
    assert_eq!(
        call(
            h::map_peek_elem,
            &ms,
            true,
            0,
            |b| [a, b, 0, 0, 0],
            &mut mem
        )
        .0,
        0
    );
}

#[test]
fn checked_mode_faults_on_bad_pointers() {
    let m = our_map(MapSpec::new(MapType::Hash, 4, 8, 2), 1);
    let ms = [m.clone()];
    let a = addr(&m);
    let mut mem = [0u8; 16];
    // Not a map of the run.
    let (_, f) = call(
        h::map_lookup_elem,
        &ms,
        true,
        0,
        |b| [a + 8, b, 0, 0, 0],
        &mut mem,
    );
    assert!(f);
    // Key outside every region.
    let (_, f) = call(
        h::map_lookup_elem,
        &ms,
        true,
        0,
        |b| [a, b + 13, 0, 0, 0],
        &mut mem,
    );
    assert!(f);
    // Value too short in the region.
    let (_, f) = call(
        h::map_update_elem,
        &ms,
        true,
        0,
        |b| [a, b, b + 9, 0, 0],
        &mut mem,
    );
    assert!(f);
    // Misaligned spin lock.
    let (_, f) = call(
        h::spin_lock,
        &ms,
        true,
        0,
        |b| [b + 2, 0, 0, 0, 0],
        &mut mem,
    );
    assert!(f);
    // A sample that is no ring buffer's record.
    let (_, f) = call(
        h::ringbuf_submit,
        &ms,
        true,
        0,
        |b| [b, 0, 0, 0, 0],
        &mut mem,
    );
    assert!(f);
}

#[test]
fn ringbuf_reserve_submit_discard_output_query() {
    let rb = our_map(MapSpec::new(MapType::Ringbuf, 0, 0, 4096), 1);
    let ms = [rb.clone()];
    let a = addr(&rb);
    let mut mem = *b"0123456789abcdef";
    assert_eq!(
        call(
            h::ringbuf_output,
            &ms,
            true,
            0,
            |b| [a, b, 5, 0, 0],
            &mut mem
        )
        .0,
        0
    );
    assert_eq!(
        call(
            h::ringbuf_output,
            &ms,
            true,
            0,
            |b| [a, b, 5, 4, 0],
            &mut mem
        )
        .0,
        EINVAL
    );
    let mut host = HelperHost::new(ms.to_vec());
    let mut env = RunEnv::new();
    env.set_host(&mut host);
    // Checked run without the map regions: reserve grants the record.
    // SAFETY: valid map pointer; the helpers validate the rest.
    unsafe {
        let p = h::ringbuf_reserve(a, 3, 0, 0, 0, &mut env);
        assert_ne!(p, 0);
        env.write_bytes(p, b"abc").expect("record granted");
        assert_eq!(h::ringbuf_submit(p, 0, 0, 0, 0, &mut env), 0);
        let p = h::ringbuf_reserve(a, 4, 0, 0, 0, &mut env);
        assert_ne!(p, 0);
        h::ringbuf_discard(p, 0, 0, 0, 0, &mut env);
        assert_eq!(h::ringbuf_reserve(a, 3, 1, 0, 0, &mut env), 0, "flags");
        assert_eq!(h::ringbuf_reserve(a, 5000, 0, 0, 0, &mut env), 0, "too big");
        assert_eq!(h::ringbuf_query(a, 1, 0, 0, 0, &mut env), 4096);
        assert_eq!(h::ringbuf_query(a, 0, 0, 0, 0, &mut env), 16 + 16 + 16);
    }
    drop(env);
    let mut got = Vec::new();
    rb.ringbuf()
        .unwrap()
        .consumer()
        .poll(|s| got.push(s.to_vec()));
    assert_eq!(got, vec![b"01234".to_vec(), b"abc".to_vec()]);
    // Full ring: output gives -EAGAIN.
    let mut big = vec![0u8; 3000];
    assert_eq!(
        call(
            h::ringbuf_output,
            &ms,
            true,
            0,
            |b| [a, b, 3000, 0, 0],
            &mut big
        )
        .0,
        0
    );
    assert_eq!(
        call(
            h::ringbuf_output,
            &ms,
            true,
            0,
            |b| [a, b, 3000, 0, 0],
            &mut big
        )
        .0,
        EAGAIN
    );
}

#[test]
fn ringbuf_record_across_the_end_is_writable_in_checked_runs() {
    // Records that wrap lie partly in the mirror; the map regions cover it.
    let rb = our_map(MapSpec::new(MapType::Ringbuf, 0, 0, 4096), 1);
    let src = r#"
        r6 = 0
    loop:
        ld_pseudo r1, 1, 7
        r2 = 1000
        r3 = 0
        call 131
        if r0 == 0 goto out
        *(u64 *)(r0 + 992) = r6
        r1 = r0
        r2 = 0
        call 132
        r6 += 1
        if r6 < 20 goto loop
    out:
        r0 = r6
        exit
    "#;
    let maps = Maps(vec![(7, rb.clone())]);
    let prog = prepare(&asm(src), &maps, false);
    let mut total = 0;
    for _ in 0..5 {
        let out = run(&prog, &maps, 0);
        assert!(out.r0.is_ok(), "{:?}", out.r0);
        total += out.r0.unwrap();
        let mut n = 0;
        rb.ringbuf().unwrap().consumer().poll(|s| {
            assert_eq!(s.len(), 1000);
            n += 1;
        });
        assert!(n >= 3);
    }
    assert!(total >= 15);
}

#[test]
fn perf_event_output_current_cpu_and_errors() {
    let pa = our_map(MapSpec::new(MapType::PerfEventArray, 4, 4, 2), 2);
    pa.update(&1u32.to_ne_bytes(), &9u32.to_ne_bytes(), 0)
        .unwrap();
    let ms = [pa.clone()];
    let a = addr(&pa);
    let mut mem = *b"perfdata";
    let cur = uapi::map::BPF_F_CURRENT_CPU;
    assert_eq!(
        call(
            h::perf_event_output,
            &ms,
            true,
            1,
            |b| [0, a, cur, b, 8],
            &mut mem
        )
        .0,
        0
    );
    assert_eq!(
        call(
            h::perf_event_output,
            &ms,
            true,
            0,
            |b| [0, a, cur, b, 8],
            &mut mem
        )
        .0,
        ENOENT
    );
    assert_eq!(
        call(
            h::perf_event_output,
            &ms,
            true,
            0,
            |b| [0, a, 1, b, 8],
            &mut mem
        )
        .0,
        EOPNOTSUPP
    );
    assert_eq!(
        call(
            h::perf_event_output,
            &ms,
            true,
            0,
            |b| [0, a, 5, b, 8],
            &mut mem
        )
        .0,
        E2BIG
    );
    assert_eq!(
        call(
            h::perf_event_output,
            &ms,
            true,
            1,
            |b| [0, a, 1 << 60, b, 8],
            &mut mem
        )
        .0,
        EINVAL
    );
    let mut got = Vec::new();
    pa.perf().unwrap().consumer().poll(|cpu, r| {
        if let PerfRecord::Sample(s) = r {
            got.push((cpu, s[..8].to_vec()));
        }
    });
    assert_eq!(got, vec![(1, b"perfdata".to_vec())]);
}

#[test]
fn spin_lock_excludes() {
    let m = our_map(MapSpec::new(MapType::Array, 4, 16, 1).with_spin_lock(0), 1);
    let v = m.lookup_ptr(&0u32.to_ne_bytes(), 0) as u64;
    let ms = [m.clone()];
    let mut host = HelperHost::new(ms.to_vec());
    let mut env = RunEnv::new();
    host.add_map_regions(&mut env);
    env.set_host(&mut host);
    // SAFETY: `v` is the lock word of a live map value.
    unsafe {
        h::spin_lock(v, 0, 0, 0, 0, &mut env);
        assert_ne!(*(v as *const u32), 0, "held");
        h::spin_unlock(v, 0, 0, 0, 0, &mut env);
        assert_eq!(*(v as *const u32), 0, "released");
    }
}
