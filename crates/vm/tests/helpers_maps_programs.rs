//! Programs using the map helpers, compared with the kernel (return codes
//! and final map contents: hash, array, queue, map of maps, ring buffer
//! positions), and workers sharing maps without losing updates.

mod helpers_support;

use helpers_support::*;
use maps::MapSpec;
use oxbpf_vm::{HelperHost, RegionKind, RunEnv};
use std::sync::Arc;
use uapi::MapType;

const ENOENT: i64 = -2;
const E2BIG: i64 = -7;
const EEXIST: i64 = -17;
const EINVAL: i64 = -22;

// ---- programs, against the kernel -------------------------------------------

/// A program exercising hash, array and queue maps and recording every
/// helper's return value in the result array (slot i = i-th call).
fn map_program(hash: i32, array: i32, queue: i32, res: i32) -> String {
    // r6 = results index; each `rec` stores r0 into res[r6] then r6++.
    let rec = format!(
        "*(u64 *)(r10 - 32) = r0\n*(u32 *)(r10 - 36) = r6\nr2 = r10\nr2 += -36\n\
         r3 = r10\nr3 += -32\nld_pseudo r1, 1, {res}\nr4 = 0\ncall 2\nr6 += 1\n"
    );
    let mut s = String::from("r6 = 0\n");
    // key (u32) at r10-4, value (u64) at r10-16
    let upd = |m: i32, key: u32, val: u64, flags: u64| {
        format!(
            "*(u32 *)(r10 - 4) = {key}\nr1 = {val:#x} ll\n*(u64 *)(r10 - 16) = r1\n\
             ld_pseudo r1, 1, {m}\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = {flags}\ncall 2\n"
        )
    };
    let del = |m: i32, key: u32| {
        format!("*(u32 *)(r10 - 4) = {key}\nld_pseudo r1, 1, {m}\nr2 = r10\nr2 += -4\ncall 3\n")
    };
    // lookup: r0 = value or 0 → record the value (or -1)
    let look = |m: i32, key: u32, n: usize| {
        format!(
            "*(u32 *)(r10 - 4) = {key}\nld_pseudo r1, 1, {m}\nr2 = r10\nr2 += -4\ncall 1\n\
             if r0 == 0 goto miss{n}\nr0 = *(u64 *)(r0 + 0)\ngoto got{n}\nmiss{n}:\nr0 = -1\ngot{n}:\n"
        )
    };
    let push = |val: u64, flags: u64| {
        format!(
            "r1 = {val:#x} ll\n*(u64 *)(r10 - 16) = r1\nld_pseudo r1, 1, {queue}\n\
             r2 = r10\nr2 += -16\nr3 = {flags}\ncall 87\n"
        )
    };
    let pop = |helper: u32| {
        format!(
            "*(u64 *)(r10 - 16) = 0\nld_pseudo r1, 1, {queue}\nr2 = r10\nr2 += -16\ncall {helper}\n\
             r0 <<= 32\nr1 = *(u64 *)(r10 - 16)\nr0 |= r1\n"
        )
    };
    let steps = [
        upd(hash, 1, 100, 1),
        upd(hash, 1, 101, 1),
        upd(hash, 2, 200, 2),
        upd(hash, 3, 300, 0),
        upd(hash, 4, 400, 0),
        upd(hash, 5, 500, 0),
        upd(hash, 6, 600, 0),
        upd(hash, 1, 111, 2),
        look(hash, 1, 0),
        look(hash, 9, 1),
        del(hash, 3),
        del(hash, 3),
        upd(hash, 6, 600, 0),
        upd(array, 0, 7, 0),
        upd(array, 3, 8, 2),
        upd(array, 4, 9, 0),
        upd(array, 1, 9, 1),
        del(array, 1),
        look(array, 3, 2),
        push(0x11, 0),
        push(0x22, 0),
        push(0x33, 0),
        push(0x44, 2),
        pop(89),
        pop(88),
        pop(88),
        pop(88),
        pop(88),
        upd(hash, 7, 700, 5),
    ];
    for st in &steps {
        s += st;
        s += &rec;
    }
    s += "r0 = r6\nexit\n";
    s
}

#[test]
fn map_program_agrees_with_the_kernel() {
    let kernel = testkit::require_kernel();
    let k = kernel.as_ref();
    let hash = pair(k, MapType::Hash, 4, 8, 4, 0);
    let array = pair(k, MapType::Array, 4, 8, 4, 0);
    let queue = pair(k, MapType::Queue, 0, 8, 3, 0);
    let res = pair(k, MapType::Array, 4, 8, 32, 0);
    let raw = asm(&map_program(hash.fd, array.fd, queue.fd, res.fd));
    let maps = Maps(
        [&hash, &array, &queue, &res]
            .iter()
            .map(|p| (p.fd, p.ours.clone()))
            .collect(),
    );
    let prog = prepare(&raw, &maps, false);
    let r0 = run(&prog, &maps, 0).r0.expect("run");
    assert_eq!(r0, 29);
    let results: Vec<i64> = (0..29u32)
        .map(|i| {
            let v = res.ours.lookup(&i.to_ne_bytes()).unwrap();
            i64::from_ne_bytes(v.try_into().unwrap())
        })
        .collect();
    // What the kernel's semantics say, written out (checked below against
    // the kernel itself when permitted).
    let want: Vec<i64> = vec![
        0,
        EEXIST,
        ENOENT,
        0,
        0,
        0,
        E2BIG,
        0,
        111,
        -1,
        0,
        ENOENT,
        0, // hash
        0,
        0,
        E2BIG,
        EEXIST,
        EINVAL,
        8, // array
        0,
        0,
        0,
        0,
        0x22,
        0x22,
        0x33,
        0x44,
        ENOENT << 32, // queue
        EINVAL,
    ];
    assert_eq!(results, want);
    if let Some(kern) = k {
        let kr = kernel_run(kern, &raw);
        assert_eq!(u64::from(kr), r0);
        for p in [&hash, &array, &res] {
            assert_eq!(
                our_contents(&p.ours),
                kernel_contents(p.kernel.as_ref().unwrap()),
                "map fd {}",
                p.fd
            );
        }
        // The queue: what is left, in order.
        let kq = queue.kernel.as_ref().unwrap();
        let mut left_k = Vec::new();
        while let Ok(Some(v)) = kq.lookup_and_delete(&[]) {
            left_k.push(v);
        }
        let mut left_o = Vec::new();
        while let Ok(v) = queue.ours.pop() {
            left_o.push(v);
        }
        assert_eq!(left_o, left_k);
    }
    // The same bytes unchecked (the kernel verified them) give the same.
    let again = Maps(
        [&hash, &array, &queue, &res]
            .iter()
            .map(|p| {
                let s = p.ours.spec().clone();
                (p.fd, our_map(s, 1))
            })
            .collect(),
    );
    let r = run(&prepare(&raw, &again, true), &again, 0).r0.unwrap();
    assert_eq!(r, 29);
    for fd in [hash.fd, array.fd, res.fd] {
        assert_eq!(our_contents(again.get(fd)), our_contents(maps.get(fd)));
    }
}

#[test]
fn workers_share_maps_without_losing_updates() {
    // Each run: atomically add 1 to array[0], insert key = (worker, i) into
    // the hash, then delete the previous run's key; count successes.
    let counter = our_map(MapSpec::new(MapType::Array, 4, 8, 1), 4);
    let hash = our_map(MapSpec::new(MapType::Hash, 8, 8, 64), 4);
    let src = r#"
        r6 = r1
        *(u32 *)(r10 - 4) = 0
        r2 = r10
        r2 += -4
        ld_pseudo r1, 1, 1
        call 1
        if r0 == 0 goto fail
        r1 = 1
        lock *(u64 *)(r0 + 0) += r1
        r7 = *(u64 *)(r6 + 0)
        *(u64 *)(r10 - 16) = r7
        *(u64 *)(r10 - 24) = r7
        ld_pseudo r1, 1, 2
        r2 = r10
        r2 += -16
        r3 = r10
        r3 += -24
        r4 = 1
        call 2
        if r0 != 0 goto fail
        r7 -= 1
        *(u64 *)(r10 - 16) = r7
        r1 = *(u64 *)(r6 + 8)
        if r1 == 0 goto ok
        ld_pseudo r1, 1, 2
        r2 = r10
        r2 += -16
        call 3
        if r0 != 0 goto fail
    ok:
        r0 = 0
        exit
    fail:
        r0 = 1
        exit
    "#;
    let maps = Maps(vec![(1, counter.clone()), (2, hash.clone())]);
    let raw = asm(src);
    const RUNS: u64 = 20_000;
    for unchecked in [false, true] {
        counter.update(&0u32.to_ne_bytes(), &[0; 8], 0).unwrap();
        let prog = Arc::new(prepare(&raw, &maps, unchecked));
        let threads: Vec<_> = (0..4u32)
            .map(|w| {
                let prog = prog.clone();
                let maps = maps.clone();
                std::thread::spawn(move || {
                    let mut host = HelperHost::new(maps.0.iter().map(|(_, m)| m.clone()).collect());
                    let mut vm = oxbpf_vm::Machine::new();
                    let mut fails = 0;
                    for i in 0..RUNS {
                        // ctx: the key of this run, and whether a previous exists.
                        let key = (u64::from(w) << 32) | (i + 1);
                        let mut ctx = [0u8; 16];
                        ctx[..8].copy_from_slice(&key.to_ne_bytes());
                        ctx[8..].copy_from_slice(&u64::from(i > 0).to_ne_bytes());
                        let mut env = RunEnv::new();
                        let c = env.add_region(&mut ctx, RegionKind::Context);
                        host.add_map_regions(&mut env);
                        env.set_worker(w);
                        env.set_host(&mut host);
                        match vm.run(&prog, &mut env, &[c]) {
                            Ok(0) => {}
                            Ok(_) => fails += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    fails
                })
            })
            .collect();
        let fails: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(fails, 0);
        // The array is not per-CPU: one slot, every increment counted.
        let v = counter.lookup(&0u32.to_ne_bytes()).unwrap();
        assert_eq!(u64::from_ne_bytes(v.try_into().unwrap()), 4 * RUNS);
        // Each worker's last key is left; nothing else.
        let mut keys: Vec<u64> = hash
            .keys()
            .unwrap()
            .iter()
            .map(|k| u64::from_ne_bytes(k.as_slice().try_into().unwrap()))
            .collect();
        keys.sort();
        let want: Vec<u64> = (0..4u64).map(|w| (w << 32) | RUNS).collect();
        assert_eq!(keys, want);
        for k in keys {
            hash.delete(&k.to_ne_bytes()).unwrap();
        }
    }
}

/// The runtime's registry, for the test: inner map ids → maps.
struct Registry(Vec<(u32, Arc<maps::Map>)>);

impl oxbpf_vm::host::InnerMaps for Registry {
    fn map(&self, id: u32) -> Option<Arc<maps::Map>> {
        self.0
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, m)| m.clone())
    }
}

#[test]
fn map_in_map_lookup_agrees_with_the_kernel() {
    use std::os::fd::AsRawFd;
    let kernel = testkit::require_kernel();
    let k = kernel.as_ref();
    // inner: array of 2 u64; outer: array_of_maps with slot 0 set, slot 1
    // empty; the program bumps inner[1] through outer[0] and reads outer[1].
    let inner = pair(k, MapType::Array, 4, 8, 2, 0);
    let outer_k = k.map(|k| {
        let mut req = testkit::kernel::MapCreate::new(MapType::ArrayOfMaps, 4, 4, 2);
        req.inner_map_fd = inner.kernel.as_ref().map(|m| m.fd());
        let m = k.create_map(&req).expect("outer");
        let fd = inner.kernel.as_ref().unwrap().fd().as_raw_fd() as u32;
        m.update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), 0).unwrap();
        m
    });
    let outer_fd = outer_k.as_ref().map_or(999, |m| m.fd().as_raw_fd());
    let outer = our_map(
        MapSpec::new(MapType::ArrayOfMaps, 4, 4, 2).with_inner(MapSpec::new(
            MapType::Array,
            4,
            8,
            2,
        )),
        1,
    );
    outer
        .update(&0u32.to_ne_bytes(), &77u32.to_ne_bytes(), 0)
        .unwrap();
    let src = format!(
        r#"
        *(u32 *)(r10 - 4) = 1
        ld_pseudo r1, 1, {outer_fd}
        r2 = r10
        r2 += -4
        call 1
        r6 = 100
        if r0 != 0 goto fail
        *(u32 *)(r10 - 4) = 0
        ld_pseudo r1, 1, {outer_fd}
        r2 = r10
        r2 += -4
        call 1
        r6 = 200
        if r0 == 0 goto fail
        r1 = r0
        *(u32 *)(r10 - 4) = 1
        r2 = r10
        r2 += -4
        call 1
        r6 = 300
        if r0 == 0 goto fail
        r1 = 5
        lock *(u64 *)(r0 + 0) += r1
        r0 = *(u64 *)(r0 + 0)
        exit
    fail:
        r0 = r6
        exit
    "#
    );
    let raw = asm(&src);
    let maps = Maps(vec![(outer_fd, outer.clone())]);
    let registry: Arc<dyn oxbpf_vm::host::InnerMaps> =
        Arc::new(Registry(vec![(77, inner.ours.clone())]));
    for unchecked in [false, true] {
        let prog = prepare(&raw, &maps, unchecked);
        let out = run_with(&prog, &maps, 0, |h| h.inner_maps = Some(registry.clone()));
        let want = if unchecked { 10 } else { 5 };
        assert_eq!(out.r0.unwrap(), want);
    }
    // Without a registry the lookup gives null, which the program handles.
    let out = run(&prepare(&raw, &maps, false), &maps, 0);
    assert_eq!(out.r0.unwrap(), 200);
    if let Some(kern) = k {
        assert_eq!(kernel_run(kern, &raw), 5);
        assert_eq!(kernel_run(kern, &raw), 10);
        assert_eq!(
            our_contents(&inner.ours),
            kernel_contents(inner.kernel.as_ref().unwrap())
        );
    }
}

#[test]
fn ringbuf_positions_agree_with_the_kernel() {
    let kernel = testkit::require_kernel();
    let k = kernel.as_ref();
    let rb = pair(k, MapType::Ringbuf, 0, 0, 4096, 0);
    let res = pair(k, MapType::Array, 4, 8, 16, 0);
    let fd = rb.fd;
    let output = |size: u32, flags: u64| {
        format!(
            "*(u64 *)(r10 - 64) = 0\n*(u64 *)(r10 - 56) = 0\nld_pseudo r1, 1, {fd}\n\
             r2 = r10\nr2 += -64\nr3 = {size}\nr4 = {flags}\ncall 130\n"
        )
    };
    let reserve = |size: u32, discard: bool| {
        format!(
            "ld_pseudo r1, 1, {fd}\nr2 = {size}\nr3 = 0\ncall 131\nif r0 == 0 goto null{size}\n\
             *(u8 *)(r0 + 0) = 1\nr1 = r0\nr2 = 0\ncall {}\nr0 = 1\nnull{size}:\n",
            if discard { 133 } else { 132 }
        )
    };
    let query = |flags: u64| format!("ld_pseudo r1, 1, {fd}\nr2 = {flags}\ncall 134\n");
    let steps = vec![
        output(5, 0),
        output(16, 1),
        output(5, 4),
        reserve(3, false),
        reserve(4, true),
        reserve(5000, false),
        query(0),
        query(1),
        query(2),
        query(3),
        query(9),
    ];
    let raw = asm(&results_program(res.fd, &steps));
    let maps = Maps(vec![(rb.fd, rb.ours.clone()), (res.fd, res.ours.clone())]);
    let n = steps.len() as u32;
    let r0 = run(&prepare(&raw, &maps, false), &maps, 0).r0.unwrap();
    assert_eq!(r0, u64::from(n));
    let ours = results(&res.ours, n);
    assert_eq!(ours, vec![0, 0, EINVAL, 1, 1, 0, 72, 4096, 0, 72, 0]);
    if let Some(kern) = k {
        assert_eq!(kernel_run(kern, &raw), n);
        assert_eq!(ours, kernel_results(res.kernel.as_ref().unwrap(), n));
    }
    // The consumer sees the submitted records, not the discarded one.
    let mut sizes = Vec::new();
    rb.ours
        .ringbuf()
        .unwrap()
        .consumer()
        .poll(|s| sizes.push(s.len()));
    assert_eq!(sizes, vec![5, 16, 3]);
}
