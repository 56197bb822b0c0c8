//! Map semantics as Linux has them. Every errno below was observed on Linux
//! 6.18 (x86-64, 2 CPUs) with a small C program calling bpf(2) directly;
//! each test names the sequence it replays.

use oxbpf_maps::{Map, MapError, MapOptions, MapSpec};
use uapi::errno::*;
use uapi::map::create_flags::*;
use uapi::map::update_flags::*;
use uapi::MapType as T;

fn opts() -> MapOptions {
    MapOptions::new(2)
}

fn create(spec: MapSpec) -> Map {
    Map::create(spec, &opts()).expect("create")
}

fn create_err(spec: MapSpec) -> i32 {
    Map::create(spec, &opts())
        .expect_err("create must fail")
        .errno()
}

fn e<T: std::fmt::Debug>(r: Result<T, MapError>) -> i32 {
    r.map_or_else(|e| e.errno(), |_| 0)
}

fn k(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

#[test]
fn create_checks() {
    let s = MapSpec::new;
    assert_eq!(create_err(s(T::Hash, 4, 4, 0)), EINVAL);
    assert_eq!(create_err(s(T::Hash, 0, 4, 4)), EINVAL);
    assert!(Map::create(s(T::Hash, 513, 4, 4), &opts()).is_ok());
    assert_eq!(create_err(s(T::Hash, 4, 1 << 22, 4)), E2BIG);
    assert_eq!(
        create_err(s(T::Hash, 4, 4, 4).with_flags(BPF_F_MMAPABLE)),
        EINVAL
    );
    assert_eq!(
        create_err(s(T::Hash, 4, 4, 4).with_flags(BPF_F_NO_COMMON_LRU)),
        EINVAL
    );
    assert_eq!(create_err(s(T::Hash, 4, 4, 4).with_map_extra(1)), EINVAL);
    assert_eq!(
        create_err(s(T::Hash, 4, 4, 4).with_flags(BPF_F_RDONLY | BPF_F_WRONLY)),
        EINVAL
    );
    assert_eq!(
        create_err(s(T::Hash, 4, 4, 4).with_flags(BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
        EINVAL
    );
    assert_eq!(
        create_err(s(T::Hash, 4, 4, 1).with_flags(BPF_F_INNER_MAP)),
        EINVAL
    );
    assert!(Map::create(s(T::Hash, 4, 4, 1).with_flags(BPF_F_ZERO_SEED), &opts()).is_ok());
    assert_eq!(
        create_err(s(T::LruHash, 4, 4, 4).with_flags(BPF_F_NO_PREALLOC)),
        ENOTSUPP
    );
    assert!(Map::create(
        s(T::LruHash, 4, 4, 1).with_flags(BPF_F_NO_COMMON_LRU),
        &opts()
    )
    .is_ok());
    assert_eq!(create_err(s(T::PercpuHash, 4, 32769, 4)), E2BIG);
    assert!(Map::create(s(T::PercpuHash, 4, 32768, 4), &opts()).is_ok());
    assert_eq!(create_err(s(T::Array, 8, 4, 4)), EINVAL);
    assert_eq!(create_err(s(T::Array, 4, 0, 4)), EINVAL);
    assert_eq!(
        create_err(s(T::Array, 4, 4, 4).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    assert_eq!(create_err(s(T::Array, 4, 1 << 31, 1)), E2BIG);
    assert!(Map::create(s(T::Array, 4, (1 << 22) + 1, 4), &opts()).is_ok());
    assert!(Map::create(s(T::Array, 4, 4, 1).with_flags(BPF_F_INNER_MAP), &opts()).is_ok());
    assert_eq!(
        create_err(s(T::PercpuArray, 4, 4, 4).with_flags(BPF_F_MMAPABLE)),
        EINVAL
    );
    assert_eq!(create_err(s(T::PercpuArray, 4, 32769, 4)), E2BIG);
    assert_eq!(
        create_err(s(T::Array, 4, 4, 4).with_flags(BPF_F_PRESERVE_ELEMS)),
        EINVAL
    );
    assert_eq!(create_err(s(T::ProgArray, 4, 8, 4)), EINVAL);
    assert_eq!(
        create_err(s(T::ProgArray, 4, 4, 4).with_flags(BPF_F_MMAPABLE)),
        EINVAL
    );
    assert_eq!(
        create_err(s(T::ProgArray, 4, 4, 4).with_flags(BPF_F_PRESERVE_ELEMS)),
        EINVAL
    );
    assert_eq!(create_err(s(T::PerfEventArray, 4, 4, 0)), EINVAL);
    assert!(Map::create(
        s(T::PerfEventArray, 4, 4, 4).with_flags(BPF_F_PRESERVE_ELEMS),
        &opts()
    )
    .is_ok());
    // array_of_maps without an inner map template.
    assert_eq!(create_err(s(T::ArrayOfMaps, 4, 4, 4)), EINVAL);
    assert_eq!(create_err(s(T::Queue, 4, 4, 4)), EINVAL);
    assert_eq!(create_err(s(T::Queue, 0, 0, 4)), EINVAL);
    assert_eq!(create_err(s(T::Queue, 0, 4, 0)), EINVAL);
    assert_eq!(
        create_err(s(T::Queue, 0, 4, 4).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    assert_eq!(create_err(s(T::Queue, 0, (1 << 22) + 1, 1)), E2BIG);
    assert!(Map::create(s(T::Ringbuf, 0, 0, 4096), &opts()).is_ok());
    assert_eq!(create_err(s(T::Ringbuf, 0, 0, 4097)), EINVAL);
    assert_eq!(create_err(s(T::Ringbuf, 0, 0, 2048)), EINVAL);
    assert_eq!(create_err(s(T::Ringbuf, 4, 0, 4096)), EINVAL);
    assert_eq!(
        create_err(s(T::Ringbuf, 0, 0, 4096).with_flags(BPF_F_RDONLY)),
        EINVAL
    );
    assert_eq!(
        create_err(s(T::BloomFilter, 0, 4, 4).with_map_extra(16)),
        EINVAL
    );
    assert_eq!(create_err(s(T::BloomFilter, 4, 4, 4)), EINVAL);
    assert_eq!(
        create_err(s(T::BloomFilter, 0, 4, 4).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    assert_eq!(create_err(s(T::BloomFilter, 0, (1 << 22) + 1, 1)), E2BIG);
    assert_eq!(create_err(s(T::LpmTrie, 8, 4, 4)), EINVAL);
    let lpm = |ks| s(T::LpmTrie, ks, 4, 4).with_flags(BPF_F_NO_PREALLOC);
    assert_eq!(create_err(lpm(4)), EINVAL);
    assert!(Map::create(lpm(5), &opts()).is_ok());
    assert_eq!(create_err(lpm(4 + 257)), EINVAL);
    assert!(Map::create(lpm(4 + 256), &opts()).is_ok());
    assert_eq!(
        create_err(lpm(8).with_flags(BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED)),
        EINVAL
    );
    assert_eq!(
        create_err(s(T::LpmTrie, 8, 1 << 22, 1).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
}

#[test]
fn array() {
    let a = create(MapSpec::new(T::Array, 4, 4, 4));
    let v = k(0);
    assert_eq!(e(a.update(&k(4), &v, BPF_ANY)), E2BIG);
    assert_eq!(e(a.update(&k(1), &v, BPF_NOEXIST)), EEXIST);
    assert_eq!(e(a.update(&k(1), &v, BPF_EXIST)), 0);
    assert_eq!(e(a.update(&k(1), &v, 8)), EINVAL);
    assert_eq!(e(a.update(&k(1), &v, BPF_F_LOCK)), EINVAL);
    assert_eq!(e(a.delete(&k(1))), EINVAL);
    assert_eq!(e(a.delete(&k(4))), EINVAL);
    assert_eq!(e(a.lookup(&k(4))), ENOENT);
    assert_eq!(e(a.lookup_with_flags(&k(1), BPF_F_LOCK)), EINVAL);
    assert_eq!(e(a.lookup_with_flags(&k(1), 8)), EINVAL);
    assert_eq!(a.get_next_key(None).unwrap(), k(0));
    assert_eq!(e(a.get_next_key(Some(&k(3)))), ENOENT);
    assert_eq!(a.get_next_key(Some(&k(7))).unwrap(), k(0));
    assert_eq!(a.get_next_key(Some(&k(2))).unwrap(), k(3));
    assert_eq!(e(a.lookup_and_delete(&k(2), 0)), ENOTSUPP);
    a.update(&k(2), &k(77), BPF_ANY).unwrap();
    assert_eq!(a.lookup(&k(2)).unwrap(), k(77));
    assert_eq!(e(a.freeze()), 0);
    assert_eq!(e(a.freeze()), EPERM);
    assert_eq!(e(a.update(&k(1), &v, BPF_ANY)), EPERM);
    assert_eq!(e(a.lookup(&k(1))), 0);
    // Programs may still write a frozen map.
    a.update_from_prog(&k(1), &k(5), BPF_ANY, 0).unwrap();
    assert_eq!(a.lookup(&k(1)).unwrap(), k(5));
}

#[test]
fn hash() {
    let h = create(MapSpec::new(T::Hash, 4, 4, 2));
    let v = k(0);
    assert_eq!(e(h.update(&k(1), &v, BPF_EXIST)), ENOENT);
    assert_eq!(e(h.update(&k(1), &v, BPF_NOEXIST)), 0);
    assert_eq!(e(h.update(&k(1), &v, BPF_NOEXIST)), EEXIST);
    assert_eq!(e(h.update(&k(1), &v, 3)), EINVAL);
    assert_eq!(e(h.update(&k(1), &v, BPF_F_LOCK)), EINVAL);
    assert_eq!(e(h.update(&k(2), &v, BPF_ANY)), 0);
    assert_eq!(e(h.update(&k(3), &v, BPF_ANY)), E2BIG);
    assert_eq!(e(h.update(&k(3), &v, BPF_EXIST)), ENOENT);
    // Replacing in a full map works (the kernel's extra elements).
    assert_eq!(e(h.update(&k(2), &k(22), BPF_ANY)), 0);
    assert_eq!(e(h.update(&k(2), &k(23), BPF_EXIST)), 0);
    assert_eq!(h.lookup(&k(2)).unwrap(), k(23));
    assert_eq!(e(h.delete(&k(9))), ENOENT);
    assert_eq!(e(h.lookup(&k(9))), ENOENT);
    // A missing key restarts from the first; the last gives ENOENT.
    let first = h.get_next_key(None).unwrap();
    assert_eq!(h.get_next_key(Some(&k(9))).unwrap(), first);
    let second = h.get_next_key(Some(&first)).unwrap();
    assert_ne!(first, second);
    assert_eq!(e(h.get_next_key(Some(&second))), ENOENT);
    assert_eq!(h.lookup_and_delete(&k(1), 0).unwrap(), v);
    assert_eq!(e(h.lookup_and_delete(&k(1), 0)), ENOENT);
    assert_eq!(e(h.lookup_and_delete(&k(2), BPF_F_LOCK)), EINVAL);
    assert_eq!(e(h.lookup_and_delete(&k(2), 8)), EINVAL);
    h.freeze().unwrap();
    assert_eq!(e(h.delete(&k(2))), EPERM);
    assert_eq!(e(h.lookup_and_delete(&k(2), 0)), EPERM);
    let r = create(MapSpec::new(T::Hash, 4, 4, 2).with_flags(BPF_F_RDONLY));
    assert_eq!(e(r.update(&k(1), &v, 0)), EPERM);
    assert_eq!(e(r.lookup(&k(1))), ENOENT);
    assert_eq!(e(r.get_next_key(None)), ENOENT);
    let w = create(MapSpec::new(T::Hash, 4, 4, 2).with_flags(BPF_F_WRONLY));
    assert_eq!(e(w.update(&k(1), &v, 0)), 0);
    assert_eq!(e(w.lookup(&k(1))), EPERM);
    assert_eq!(e(w.get_next_key(None)), EPERM);
    assert_eq!(e(w.delete(&k(1))), 0);
}

#[test]
fn lru_keeps_the_newest() {
    let l = create(MapSpec::new(T::LruHash, 4, 4, 2));
    for i in 0..10 {
        l.update(&k(i), &k(i), BPF_ANY).unwrap();
    }
    let mut keys = l.keys().unwrap();
    keys.sort();
    assert_eq!(keys, vec![k(8).to_vec(), k(9).to_vec()]);
}

#[test]
fn queue_and_stack() {
    let q = create(MapSpec::new(T::Queue, 0, 4, 2));
    assert_eq!(e(q.push(&k(1), 0)), 0);
    assert_eq!(e(q.push(&k(2), 0)), 0);
    assert_eq!(e(q.push(&k(3), 0)), E2BIG);
    assert_eq!(e(q.push(&k(3), BPF_NOEXIST)), EINVAL);
    assert_eq!(e(q.push(&k(3), BPF_EXIST)), 0);
    assert_eq!(q.peek().unwrap(), k(2));
    assert_eq!(q.pop().unwrap(), k(2));
    assert_eq!(q.pop().unwrap(), k(3));
    assert_eq!(e(q.pop()), ENOENT);
    assert_eq!(e(q.peek()), ENOENT);
    assert_eq!(e(q.delete(&[])), EINVAL);
    assert_eq!(e(q.get_next_key(None)), EINVAL);
    assert_eq!(e(q.lookup(&k(0))), EINVAL);
    assert_eq!(e(q.lookup_and_delete(&[], BPF_F_LOCK)), EINVAL);
    let s = create(MapSpec::new(T::Stack, 0, 4, 2));
    s.push(&k(1), 0).unwrap();
    s.push(&k(2), 0).unwrap();
    assert_eq!(e(s.push(&k(3), BPF_EXIST)), 0);
    assert_eq!(s.pop().unwrap(), k(3));
    assert_eq!(s.pop().unwrap(), k(2));
    q.freeze().unwrap();
    assert_eq!(e(q.push(&k(1), 0)), EPERM);
    assert_eq!(e(q.pop()), EPERM);
    // Program side: same semantics, frozen or not.
    q.push_from_prog(&k(5), 0).unwrap();
    let mut out = [0u8; 4];
    q.pop_from_prog(&mut out).unwrap();
    assert_eq!(out, k(5));
}

#[test]
fn bloom_filter() {
    let b = create(MapSpec::new(T::BloomFilter, 0, 4, 4).with_map_extra(3));
    assert_eq!(e(b.push(&k(5), BPF_ANY)), 0);
    assert_eq!(e(b.push(&k(5), BPF_EXIST)), EINVAL);
    assert_eq!(e(b.push(&k(5), BPF_NOEXIST)), EINVAL);
    assert_eq!(e(b.bloom_contains(&k(5))), 0);
    assert_eq!(e(b.bloom_contains(&k(6))), ENOENT);
    assert_eq!(e(b.delete(&[])), EOPNOTSUPP);
    assert_eq!(e(b.lookup_and_delete(&[], 0)), ENOTSUPP);
    assert_eq!(e(b.get_next_key(None)), EOPNOTSUPP);
    let mut q = k(5);
    assert_eq!(e(b.peek_from_prog(&mut q)), 0);
}

#[test]
fn prog_array_and_map_in_map() {
    let pa = create(MapSpec::new(T::ProgArray, 4, 4, 4));
    assert_eq!(e(pa.lookup(&k(0))), ENOENT);
    assert_eq!(e(pa.delete(&k(0))), ENOENT);
    assert_eq!(e(pa.delete(&k(5))), E2BIG);
    assert_eq!(e(pa.lookup(&k(5))), ENOENT);
    assert_eq!(e(pa.update(&k(5), &k(1), 0)), E2BIG);
    assert_eq!(e(pa.update(&k(0), &k(42), BPF_NOEXIST)), EINVAL);
    assert_eq!(pa.get_next_key(None).unwrap(), k(0));
    pa.update(&k(0), &k(42), 0).unwrap();
    assert_eq!(pa.lookup(&k(0)).unwrap(), k(42));
    assert_eq!(pa.fd_array_get(0), Some(42));
    assert_eq!(pa.fd_array_get(1), None);
    assert_eq!(e(pa.lookup_batch(None, 4, 0, 0)), ENOTSUPP);

    let pe = create(MapSpec::new(T::PerfEventArray, 4, 4, 4));
    assert_eq!(e(pe.lookup(&k(0))), ENOTSUPP);
    assert_eq!(e(pe.delete(&k(0))), ENOENT);

    let inner = MapSpec::new(T::Array, 4, 4, 1);
    let ao = create(MapSpec::new(T::ArrayOfMaps, 4, 4, 2).with_inner(inner.clone()));
    assert!(ao.spec().accepts_inner(&inner));
    assert!(!ao.spec().accepts_inner(&MapSpec::new(T::Array, 4, 8, 1)));
    assert_eq!(e(ao.lookup(&k(0))), ENOENT);
    ao.update(&k(0), &k(62), 0).unwrap();
    assert_eq!(ao.lookup(&k(0)).unwrap(), k(62));
    assert_eq!(ao.inner_map_id(&k(0)), Some(62));
    assert!(!ao.lookup_ptr(&k(0), 0).is_null());
    assert_eq!(e(ao.update(&k(0), &k(62), BPF_NOEXIST)), EINVAL);
    assert_eq!(e(ao.delete(&k(0))), 0);
    assert_eq!(e(ao.delete(&k(0))), ENOENT);
    assert!(ao.lookup_ptr(&k(0), 0).is_null());

    let ho = create(MapSpec::new(T::HashOfMaps, 8, 4, 2).with_inner(inner));
    ho.update(&7u64.to_ne_bytes(), &k(9), 0).unwrap();
    assert_eq!(ho.inner_map_id(&7u64.to_ne_bytes()), Some(9));
}

fn lpm_key(pl: u32, d: [u8; 4]) -> [u8; 8] {
    let mut key = [0u8; 8];
    key[..4].copy_from_slice(&pl.to_ne_bytes());
    key[4..].copy_from_slice(&d);
    key
}

#[test]
fn lpm_trie_errors() {
    let t = create(MapSpec::new(T::LpmTrie, 8, 4, 2).with_flags(BPF_F_NO_PREALLOC));
    let v = k(0);
    let ten = [10, 0, 0, 0];
    assert_eq!(e(t.update(&lpm_key(33, ten), &v, 0)), EINVAL);
    assert_eq!(e(t.update(&lpm_key(8, ten), &v, 0)), 0);
    assert_eq!(e(t.update(&lpm_key(8, ten), &v, BPF_NOEXIST)), EEXIST);
    assert_eq!(e(t.update(&lpm_key(16, ten), &v, BPF_EXIST)), ENOENT);
    assert_eq!(e(t.update(&lpm_key(16, ten), &v, 0)), 0);
    assert_eq!(e(t.update(&lpm_key(24, ten), &v, 0)), ENOSPC);
    assert_eq!(e(t.update(&lpm_key(24, ten), &v, BPF_EXIST)), ENOENT);
    assert_eq!(e(t.update(&lpm_key(24, ten), &v, BPF_F_LOCK)), EINVAL);
    assert_eq!(e(t.lookup(&lpm_key(32, ten))), 0);
    assert_eq!(e(t.lookup(&lpm_key(4, ten))), ENOENT);
    assert_eq!(e(t.lookup(&lpm_key(33, ten))), ENOENT);
    assert_eq!(e(t.delete(&lpm_key(33, ten))), EINVAL);
    assert_eq!(e(t.delete(&lpm_key(12, ten))), ENOENT);
    assert_eq!(t.get_next_key(None).unwrap(), lpm_key(16, ten));
    assert_eq!(
        t.get_next_key(Some(&lpm_key(12, ten))).unwrap(),
        lpm_key(16, ten)
    );
    assert_eq!(e(t.lookup_and_delete(&lpm_key(12, ten), 0)), ENOTSUPP);
}

#[test]
fn lpm_trie_postorder() {
    let t = create(MapSpec::new(T::LpmTrie, 8, 4, 10).with_flags(BPF_F_NO_PREALLOC));
    let pre: [(u32, [u8; 4]); 7] = [
        (16, [192, 168, 0, 0]),
        (24, [192, 168, 0, 0]),
        (24, [192, 168, 1, 0]),
        (24, [192, 168, 128, 0]),
        (8, [10, 0, 0, 0]),
        (0, [0, 0, 0, 0]),
        (32, [10, 1, 2, 3]),
    ];
    for (pl, d) in pre {
        t.update(&lpm_key(pl, d), &k(pl), 0).unwrap();
    }
    let want: Vec<Vec<u8>> = [
        (32, [10, 1, 2, 3]),
        (8, [10, 0, 0, 0]),
        (24, [192, 168, 0, 0]),
        (24, [192, 168, 1, 0]),
        (24, [192, 168, 128, 0]),
        (16, [192, 168, 0, 0]),
        (0, [0, 0, 0, 0]),
    ]
    .iter()
    .map(|&(pl, d)| lpm_key(pl, d).to_vec())
    .collect();
    assert_eq!(t.keys().unwrap(), want);
    assert_eq!(
        t.get_next_key(Some(&lpm_key(24, [192, 168, 2, 0])))
            .unwrap(),
        lpm_key(32, [10, 1, 2, 3])
    );
    t.update(&lpm_key(20, [192, 168, 0, 5]), &k(20), 0).unwrap();
    assert_eq!(t.lookup(&lpm_key(20, [192, 168, 0, 5])).unwrap(), k(20));
    // 192.168.0.5/32 matches /24 (longer than /20).
    assert_eq!(t.lookup(&lpm_key(32, [192, 168, 0, 5])).unwrap(), k(24));
    assert_eq!(t.lookup(&lpm_key(32, [192, 168, 2, 5])).unwrap(), k(20));
    assert_eq!(t.lookup(&lpm_key(32, [172, 1, 1, 1])).unwrap(), k(0));
    let b = t.lookup_batch(None, 64, 0, 0).unwrap();
    assert!(b.end);
    assert_eq!(b.count, 8);
}

#[test]
fn ringbuf_syscall_side() {
    let r = create(MapSpec::new(T::Ringbuf, 0, 0, 4096));
    assert_eq!(e(r.lookup(&k(0))), EINVAL);
    assert_eq!(e(r.update(&k(0), &[], 0)), EINVAL);
    assert_eq!(e(r.get_next_key(None)), ENOTSUPP);
    assert_eq!(e(r.freeze()), 0);
    assert_eq!(e(r.lookup_batch(None, 4, 0, 0)), ENOTSUPP);
    let q = create(MapSpec::new(T::Queue, 0, 4, 4));
    assert_eq!(e(q.lookup_batch(None, 4, 0, 0)), ENOTSUPP);
}

#[test]
fn percpu_values_are_rounded_slots() {
    // Kernel: a 4-byte percpu value is exchanged as 8 bytes per CPU, and the
    // padding bytes are copied verbatim both ways.
    let pc = create(MapSpec::new(T::PercpuArray, 4, 4, 2));
    assert_eq!(pc.lookup(&k(0)).unwrap(), vec![0u8; 16]);
    let val: Vec<u8> = [1u32, 0xaaaa, 2, 0xbbbb]
        .iter()
        .flat_map(|x| x.to_ne_bytes())
        .collect();
    pc.update(&k(0), &val, 0).unwrap();
    assert_eq!(pc.lookup(&k(0)).unwrap(), val);
    let ph = create(MapSpec::new(T::PercpuHash, 4, 4, 2));
    ph.update(&k(0), &val, 0).unwrap();
    assert_eq!(ph.lookup(&k(0)).unwrap(), val);
    // A program writes its own CPU's slot only; a new element from a
    // program has its other slots zeroed.
    ph.update_from_prog(&k(1), &k(9), 0, 1).unwrap();
    let got = ph.lookup(&k(1)).unwrap();
    assert_eq!(&got[..8], &[0; 8]);
    assert_eq!(&got[8..12], &k(9));
    let p = ph.lookup_ptr(&k(0), 1);
    // SAFETY: a live 8-aligned value slot of the map.
    assert_eq!(unsafe { *(p as *const u32) }, 2);
}

#[test]
fn hash_batches() {
    // A fixed seed: with a random one, four of the ten keys sharing a
    // bucket now and then made the batch of 3 below ENOSPC, as the kernel
    // answers when one bucket does not fit the batch.
    let h = create(
        MapSpec::new(T::Hash, 4, 4, 16).with_flags(uapi::map::create_flags::BPF_F_ZERO_SEED),
    );
    for i in 1..=10 {
        h.update(&k(i), &k(i * 10), 0).unwrap();
    }
    let b = h.lookup_batch(None, 3, 0, 0).unwrap();
    assert!(b.count <= 3 && !b.end);
    assert_eq!(h.lookup_batch(None, 0, 0, 0).unwrap().count, 0);
    let all = h.lookup_batch(None, 64, 0, 0).unwrap();
    assert!(all.end);
    assert_eq!(all.count, 10);
    assert_eq!(all.out_batch, Some(16u32.to_ne_bytes().to_vec()));
    let after = h.lookup_batch(all.out_batch.as_deref(), 64, 0, 0).unwrap();
    assert!(after.end);
    assert_eq!(after.count, 0);
    assert_eq!(e(h.lookup_batch(None, 64, BPF_F_LOCK, 0)), EINVAL);
    assert_eq!(e(h.lookup_batch(None, 64, 8, 0)), EINVAL);
    // Walking with a small count visits every element exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        match h.lookup_batch(cursor.as_deref(), 4, 0, 0) {
            Ok(b) => {
                seen.extend(b.keys.chunks(4).map(|c| c.to_vec()));
                if b.end {
                    break;
                }
                cursor = b.out_batch;
            }
            // A bucket larger than 4: ask again with more room.
            Err(MapError::NoSpace { .. }) => panic!("bucket larger than 4 elements"),
            Err(e) => panic!("{e}"),
        }
    }
    seen.sort();
    let mut want: Vec<Vec<u8>> = (1..=10).map(|i| k(i).to_vec()).collect();
    want.sort();
    assert_eq!(seen, want);
    let d = h.lookup_and_delete_batch(None, 64, 0, 0).unwrap();
    assert_eq!(d.count, 10);
    assert_eq!(e(h.get_next_key(None)), ENOENT);
    // Update batch takes only BPF_F_LOCK as element flag; delete batch stops
    // at the first missing key.
    let keys: Vec<u8> = [1u32, 2, 1].iter().flat_map(|x| x.to_ne_bytes()).collect();
    let r = h.update_batch(&keys, &keys, 3, BPF_NOEXIST, 0);
    assert_eq!((r.count, e(r.result)), (3, EINVAL));
    let del: Vec<u8> = [1u32, 9, 2].iter().flat_map(|x| x.to_ne_bytes()).collect();
    let r = h.delete_batch(&del, 3, 0, 0);
    assert_eq!((r.count, e(r.result)), (0, ENOENT));
    h.update_batch(&keys, &keys, 3, 0, 0).result.unwrap();
    let r = h.delete_batch(&del, 3, 0, 0);
    assert_eq!((r.count, e(r.result)), (1, ENOENT));
}

#[test]
fn hash_batch_enospc_when_a_bucket_does_not_fit() {
    // One bucket (max_entries 1 rounds to 1 bucket) holding 1 element and a
    // replace spare; use 4 entries in 4 buckets and force collisions by
    // asking for count 1 until a multi-element bucket shows up.
    let h = create(MapSpec::new(T::Hash, 4, 4, 64).with_flags(BPF_F_ZERO_SEED));
    for i in 0..64 {
        h.update(&k(i), &k(i), 0).unwrap();
    }
    // With 64 keys in 64 buckets some bucket holds two or more.
    let mut cursor: Option<Vec<u8>> = None;
    let mut saw_enospc = false;
    let mut total = 0;
    loop {
        match h.lookup_batch(cursor.as_deref(), 1, 0, 0) {
            Ok(b) => {
                total += b.count;
                if b.end {
                    break;
                }
                cursor = b.out_batch;
            }
            Err(MapError::NoSpace { .. }) => {
                saw_enospc = true;
                let b = h.lookup_batch(cursor.as_deref(), 64, 0, 0).unwrap();
                total += b.count;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(saw_enospc);
    assert!(total <= 64);
}

#[test]
fn array_batches() {
    let a = create(MapSpec::new(T::Array, 4, 4, 5));
    for i in 0..5 {
        a.update(&k(i), &k(i + 100), 0).unwrap();
    }
    let b1 = a.lookup_batch(None, 2, 0, 0).unwrap();
    assert_eq!(
        (b1.count, b1.end, b1.out_batch.clone()),
        (2, false, Some(k(1).to_vec()))
    );
    let b2 = a.lookup_batch(b1.out_batch.as_deref(), 2, 0, 0).unwrap();
    assert_eq!((b2.count, b2.out_batch.clone()), (2, Some(k(3).to_vec())));
    let b3 = a.lookup_batch(b2.out_batch.as_deref(), 2, 0, 0).unwrap();
    assert_eq!(
        (b3.count, b3.end, b3.out_batch),
        (1, true, Some(k(4).to_vec()))
    );
    assert_eq!(b3.values, k(104));
    let end = a.lookup_batch(Some(&k(4)), 2, 0, 0).unwrap();
    assert_eq!((end.count, end.end, end.out_batch), (0, true, None));
    // A cursor past the end restarts, as get_next_key does.
    let again = a.lookup_batch(Some(&k(9)), 2, 0, 0).unwrap();
    assert_eq!((again.count, &again.keys[..4]), (2, &k(0)[..]));
    assert_eq!(e(a.lookup_and_delete_batch(None, 2, 0, 0)), ENOTSUPP);
    assert_eq!(e(a.delete_batch(&k(0), 1, 0, 0).result), ENOTSUPP);
    let keys: Vec<u8> = [0u32, 7].iter().flat_map(|x| x.to_ne_bytes()).collect();
    let r = a.update_batch(&keys, &keys, 2, 0, 0);
    assert_eq!((r.count, e(r.result)), (1, E2BIG));
}

#[test]
fn spin_lock_values() {
    // value = { u32 counter; struct bpf_spin_lock lock; u64 data }
    let h = create(MapSpec::new(T::Hash, 4, 16, 4).with_spin_lock(4));
    let mut v = [0u8; 16];
    v[..4].copy_from_slice(&k(7));
    v[4..8].copy_from_slice(&k(0xdead));
    h.update(&k(1), &v, BPF_F_LOCK).unwrap();
    let got = h.lookup_with_flags(&k(1), BPF_F_LOCK).unwrap();
    assert_eq!(&got[..4], &k(7));
    // The lock field reads as zero and was not overwritten by the update.
    assert_eq!(&got[4..8], &[0; 4]);
    let p = h.lookup_ptr(&k(1), 0);
    // SAFETY: the lock word inside a live value of this map.
    unsafe {
        assert_eq!(*(p.add(4) as *const u32), 0);
        oxbpf_maps::bpf_spin_lock(p.add(4).cast());
        oxbpf_maps::bpf_spin_unlock(p.add(4).cast());
    }
    // Maps with a spin lock cannot be frozen (ENOTSUPP); F_LOCK needs one.
    assert_eq!(e(h.freeze()), ENOTSUPP);
    let plain = create(MapSpec::new(T::Hash, 4, 16, 4));
    assert_eq!(e(plain.update(&k(1), &v, BPF_F_LOCK)), EINVAL);
    assert_eq!(
        create_err(MapSpec::new(T::LruHash, 4, 16, 4).with_spin_lock(4)),
        EOPNOTSUPP
    );
    assert_eq!(
        create_err(MapSpec::new(T::Hash, 4, 16, 4).with_spin_lock(2)),
        EINVAL
    );
}

#[test]
fn wrong_buffer_sizes_are_einval_not_panics() {
    let h = create(MapSpec::new(T::Hash, 4, 4, 4));
    assert_eq!(e(h.lookup(&[1, 2])), EINVAL);
    assert_eq!(e(h.update(&k(1), &[1], 0)), EINVAL);
    assert_eq!(e(h.update_from_prog(&k(1), &k(1), 0, 9)), EINVAL);
    assert!(h.lookup_ptr(&[1], 0).is_null());
    assert!(h.lookup_ptr(&k(1), 5).is_null());
    let keys = [0u8; 7];
    assert_eq!(e(h.update_batch(&keys, &keys, 2, 0, 0).result), EINVAL);
    assert_eq!(e(h.lookup_batch(Some(&[1]), 4, 0, 0)), EINVAL);
}
