//! Several threads on one map: nothing lost, nothing duplicated.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxbpf_maps::{Map, MapError, MapOptions, MapSpec, PerfRecord};
use uapi::map::update_flags::*;
use uapi::MapType as T;

const THREADS: u32 = 4;

fn k(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

#[test]
fn atomic_adds_into_values_add_up() {
    for ty in [T::Array, T::Hash, T::PercpuArray, T::LruHash] {
        let map =
            Arc::new(Map::create(MapSpec::new(ty, 4, 8, 4), &MapOptions::new(THREADS)).unwrap());
        map.update(&k(0), &vec![0u8; map.syscall_value_size()], BPF_ANY)
            .unwrap();
        let hs: Vec<_> = (0..THREADS)
            .map(|cpu| {
                let m = map.clone();
                std::thread::spawn(move || {
                    for _ in 0..50_000 {
                        let p = m.lookup_ptr(&k(0), cpu);
                        assert!(!p.is_null());
                        // SAFETY: an 8-aligned live value slot of the map,
                        // accessed atomically as a BPF program's XADD would.
                        unsafe { AtomicU64::from_ptr(p.cast()) }.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let v = map.lookup(&k(0)).unwrap();
        let total: u64 = v
            .chunks(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
            .sum();
        assert_eq!(total, u64::from(THREADS) * 50_000, "{ty}");
    }
}

#[test]
fn concurrent_inserts_and_deletes_lose_nothing() {
    let map = Arc::new(Map::create(MapSpec::new(T::Hash, 4, 8, 256), &MapOptions::new(4)).unwrap());
    // Each thread owns a key range; it inserts, updates, deletes and
    // re-inserts keys while the others do the same in other buckets (and
    // in the same buckets, since ranges interleave).
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = map.clone();
            std::thread::spawn(move || {
                let mine: Vec<u32> = (0..64).map(|i| i * THREADS + t).collect();
                for round in 0..200u64 {
                    for &key in &mine {
                        m.update(&k(key), &round.to_ne_bytes(), BPF_NOEXIST)
                            .unwrap();
                    }
                    for &key in &mine {
                        let v = m.lookup(&k(key)).unwrap();
                        assert_eq!(v, round.to_ne_bytes());
                        m.update(&k(key), &(round + 1).to_ne_bytes(), BPF_EXIST)
                            .unwrap();
                    }
                    // Keep the even keys at the end of the last round.
                    for &key in &mine {
                        if round < 199 || key % 2 == 1 {
                            m.delete(&k(key)).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let keys: Vec<u32> = map
        .keys()
        .unwrap()
        .iter()
        .map(|k| u32::from_ne_bytes(k[..].try_into().unwrap()))
        .collect();
    let set: HashSet<u32> = keys.iter().copied().collect();
    assert_eq!(set.len(), keys.len(), "no key listed twice");
    let want: HashSet<u32> = (0u32..256).filter(|k| k.is_multiple_of(2)).collect();
    assert_eq!(set, want);
    for key in want {
        assert_eq!(map.lookup(&k(key)).unwrap(), 200u64.to_ne_bytes());
    }
    let report = map.check().unwrap();
    assert_eq!(report.live, 128);
    assert_eq!(report.leaked, 0);
}

#[test]
fn concurrent_readers_see_whole_values_during_replacement() {
    // Writers replace a 32-byte value whose words are all equal; lock-free
    // readers must never see a mix of two values (replacement publishes a
    // fresh element with one store).
    let map = Arc::new(Map::create(MapSpec::new(T::Hash, 4, 32, 8), &MapOptions::new(2)).unwrap());
    map.update(&k(1), &[0u8; 32], BPF_ANY).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = {
        let (m, stop) = (map.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let v: Vec<u8> = std::iter::repeat_n(i.to_ne_bytes(), 4).flatten().collect();
                m.update(&k(1), &v, BPF_ANY).unwrap();
            }
        })
    };
    for _ in 0..200_000 {
        let v = map.lookup(&k(1)).unwrap();
        let words: Vec<&[u8]> = v.chunks(8).collect();
        assert!(words.iter().all(|w| *w == words[0]), "torn value {v:?}");
    }
    stop.store(true, Ordering::Relaxed);
    w.join().unwrap();
}

#[test]
fn lru_under_contention_never_exceeds_capacity() {
    let map =
        Arc::new(Map::create(MapSpec::new(T::LruHash, 4, 8, 64), &MapOptions::new(4)).unwrap());
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = map.clone();
            std::thread::spawn(move || {
                for i in 0..20_000u32 {
                    let key = i * THREADS + t;
                    m.update(&k(key), &u64::from(key).to_ne_bytes(), BPF_ANY)
                        .unwrap();
                    // The key just written is there unless already evicted
                    // by others; when there, its value is its own.
                    if let Ok(v) = m.lookup(&k(key)) {
                        assert_eq!(v, u64::from(key).to_ne_bytes());
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let r = map.check().unwrap();
    assert!(r.live <= 64 && r.live > 0, "{r:?}");
    assert_eq!(r.leaked, 0);
    assert_eq!(map.keys().unwrap().len() as u64, r.live);
}

#[test]
fn ringbuf_producers_and_consumer_across_threads() {
    let map =
        Arc::new(Map::create(MapSpec::new(T::Ringbuf, 0, 0, 4096), &MapOptions::new(4)).unwrap());
    const PER: u32 = 20_000;
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = map.clone();
            std::thread::spawn(move || {
                let rb = m.ringbuf().unwrap();
                let mut i = 0;
                while i < PER {
                    // Alternate output and reserve/commit, with varied sizes
                    // so records wrap around the end of the ring.
                    let len = 1 + (i as usize % 13);
                    let mut rec = vec![t as u8; len];
                    rec[..4.min(len)].copy_from_slice(&i.to_ne_bytes()[..4.min(len)]);
                    let ok = if i.is_multiple_of(2) {
                        rb.output(&[&t.to_ne_bytes()[..], &i.to_ne_bytes()[..]].concat(), 0)
                            .is_ok()
                    } else {
                        let p = rb.reserve(8, 0);
                        if p.is_null() {
                            false
                        } else {
                            // SAFETY: 8 reserved bytes at p.
                            unsafe {
                                std::ptr::copy_nonoverlapping(t.to_ne_bytes().as_ptr(), p, 4);
                                std::ptr::copy_nonoverlapping(
                                    i.to_ne_bytes().as_ptr(),
                                    p.add(4),
                                    4,
                                );
                            }
                            if i.is_multiple_of(7) {
                                // Discarded samples never reach the consumer;
                                // count them as sent and skip the number.
                                rb.discard(p, 0).unwrap();
                            } else {
                                rb.submit(p, 0).unwrap();
                            }
                            true
                        }
                    };
                    if ok {
                        i += 1;
                    } else {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let rb = map.ringbuf().unwrap();
    let mut c = rb.consumer();
    let mut next = vec![0u32; THREADS as usize];
    let mut got = 0u64;
    let expected: u64 = (0..PER)
        .filter(|i| !(i % 2 == 1 && i.is_multiple_of(7)))
        .count() as u64
        * u64::from(THREADS);
    while got < expected {
        c.wait(Some(Duration::from_millis(100)));
        c.poll(|s| {
            assert_eq!(s.len(), 8);
            let t = u32::from_ne_bytes(s[..4].try_into().unwrap()) as usize;
            let i = u32::from_ne_bytes(s[4..].try_into().unwrap());
            // Per producer, samples arrive in order, skipping discards.
            while next[t] % 2 == 1 && next[t].is_multiple_of(7) {
                next[t] += 1;
            }
            assert_eq!(i, next[t], "producer {t}");
            next[t] += 1;
            got += 1;
        });
    }
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(c.poll(|_| panic!("no more samples")), 0);
    assert_eq!(rb.query(uapi::map::ringbuf_flags::BPF_RB_AVAIL_DATA), 0);
}

#[test]
fn ringbuf_semantics() {
    use uapi::map::ringbuf_flags::*;
    let map = Map::create(MapSpec::new(T::Ringbuf, 0, 0, 4096), &MapOptions::new(1)).unwrap();
    let rb = map.ringbuf().unwrap();
    assert!(rb.reserve(8, 1).is_null(), "flags must be 0");
    assert!(rb.reserve(4096, 0).is_null(), "larger than the ring");
    assert!(matches!(rb.output(&[1], 4), Err(MapError::Invalid { .. })));
    assert_eq!(rb.query(BPF_RB_RING_SIZE), 4096);
    let p = rb.reserve(5, 0);
    assert!(!p.is_null());
    assert_eq!(rb.query(BPF_RB_PROD_POS), 16);
    // A busy record blocks the consumer.
    assert_eq!(rb.consumer().poll(|_| {}), 0);
    assert!(!rb.consumer().wait(Some(Duration::from_millis(10))));
    rb.submit(p, BPF_RB_NO_WAKEUP).unwrap();
    assert!(rb.submit(p, 0).is_err(), "double submit");
    assert!(rb.submit(std::ptr::null_mut(), 0).is_err());
    let fd = rb.event_fd().unwrap();
    rb.output(b"abc", BPF_RB_FORCE_WAKEUP).unwrap();
    let mut buf = [0u8; 8];
    // SAFETY: reading 8 bytes from our eventfd into a live buffer.
    assert_eq!(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 8) }, 8);
    let mut seen = Vec::new();
    assert_eq!(rb.consumer().poll(|s| seen.push(s.to_vec())), 2);
    assert_eq!(seen[1], b"abc");
    assert_eq!(rb.query(BPF_RB_CONS_POS), 32);
    // Fill the ring: 4095 usable bytes at most, in 8-byte steps.
    let mut n = 0;
    while rb.output(&[0u8; 56], 0).is_ok() {
        n += 1;
    }
    // 32 bytes were used and consumed before: positions 32..4096+32 would
    // be needed for 64 records; the kernel keeps at least 8 bytes free.
    assert_eq!(n, 63);
    assert!(matches!(
        rb.output(&[0u8; 56], 0),
        Err(MapError::Again { .. })
    ));
    // 4032 of 4095 usable bytes are taken: a 16-byte record still fits.
    rb.output(&[0], 0).unwrap();
    assert!(matches!(
        rb.output(&[0u8; 48], 0),
        Err(MapError::Again { .. })
    ));
}

#[test]
fn perf_buffers_per_cpu() {
    let mut opts = MapOptions::new(2);
    opts.perf_buffer_pages = 1;
    let map = Map::create(MapSpec::new(T::PerfEventArray, 4, 4, 2), &opts).unwrap();
    let pa = map.perf().unwrap();
    let cur = uapi::map::BPF_F_CURRENT_CPU;
    assert!(matches!(pa.output(0, cur, b"x"), Err(MapError::NotFound)));
    map.update(&k(0), &k(100), 0).unwrap();
    map.update(&k(1), &k(101), 0).unwrap();
    assert!(matches!(
        pa.output(0, 1, b"x"),
        Err(MapError::OpNotSupported { .. })
    ));
    assert!(matches!(
        pa.output(0, 5, b"x"),
        Err(MapError::TooBig { .. })
    ));
    pa.output(0, cur, b"hello").unwrap();
    pa.output(1, 1, b"world!!!").unwrap();
    let mut recs = Vec::new();
    let n = pa.consumer().poll(|cpu, r| {
        if let PerfRecord::Sample(s) = r {
            recs.push((cpu, s.to_vec()))
        }
    });
    assert_eq!(n, 2);
    // Raw samples are padded so the record is 8-aligned: 5 -> 12 - 4 = ...
    assert_eq!(recs[0].0, 0);
    assert_eq!(&recs[0].1[..5], b"hello");
    assert_eq!(recs[0].1.len(), 12);
    assert_eq!(&recs[1].1[..8], b"world!!!");
    // Overflow: drops are counted and reported once there is room again.
    let mut sent = 0;
    while pa.output(0, cur, &[7u8; 100]).is_ok() {
        sent += 1;
    }
    assert!(matches!(
        pa.output(0, cur, &[7u8; 100]),
        Err(MapError::NoSpace { .. })
    ));
    let mut samples = 0;
    pa.consumer().poll(|_, _| samples += 1);
    assert_eq!(samples, sent);
    pa.output(0, cur, b"after").unwrap();
    let mut lost = 0;
    let mut last = Vec::new();
    pa.consumer().poll(|_, r| match r {
        PerfRecord::Lost(n) => lost = n,
        PerfRecord::Sample(s) => last = s.to_vec(),
    });
    assert_eq!(lost, 2);
    assert_eq!(&last[..5], b"after");
    map.delete(&k(0)).unwrap();
    assert!(matches!(pa.output(0, cur, b"x"), Err(MapError::NotFound)));
}

#[test]
fn perf_wait_wakes_across_threads() {
    let map = Arc::new(
        Map::create(
            MapSpec::new(T::PerfEventArray, 4, 4, 2),
            &MapOptions::new(2),
        )
        .unwrap(),
    );
    map.update(&k(1), &k(1), 0).unwrap();
    let m = map.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        m.perf().unwrap().output(1, 1, b"ping").unwrap();
    });
    let c = map.perf().unwrap().consumer();
    assert!(c.wait(Some(Duration::from_secs(10))));
    h.join().unwrap();
}
