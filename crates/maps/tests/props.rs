//! Property tests: random operation sequences against simple models
//! (`HashMap`, `Vec`, a naive longest-prefix search).

use std::collections::{BTreeMap, HashMap};

use oxbpf_maps::{Map, MapError, MapOptions, MapSpec};
use proptest::prelude::*;
use uapi::map::create_flags::BPF_F_NO_PREALLOC;
use uapi::map::update_flags::*;
use uapi::MapType as T;

fn errno<V>(r: &Result<V, MapError>) -> i32 {
    r.as_ref().map_or_else(|e| e.errno(), |_| 0)
}

#[derive(Debug, Clone)]
enum Op {
    Update(u8, u64, u64),
    Delete(u8),
    Lookup(u8),
    LookupAndDelete(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..24;
    prop_oneof![
        4 => (key.clone(), any::<u64>(), 0u64..3).prop_map(|(k, v, f)| Op::Update(k, v, f)),
        2 => key.clone().prop_map(Op::Delete),
        2 => key.clone().prop_map(Op::Lookup),
        1 => key.prop_map(Op::LookupAndDelete),
    ]
}

fn hash_key(k: u8) -> [u8; 6] {
    // A 6-byte key: exercises keys that are not a multiple of 8.
    [k, 0xa5, k.wrapping_mul(3), 0, 1, 2]
}

const MAX: usize = 12;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn hash_matches_a_hashmap(ops in prop::collection::vec(op(), 1..200), prog in any::<bool>()) {
        let map = Map::create(MapSpec::new(T::Hash, 6, 8, MAX as u32), &MapOptions::new(2)).unwrap();
        let mut model: HashMap<u8, u64> = HashMap::new();
        for op in ops {
            match op {
                Op::Update(k, v, f) => {
                    let got = if prog {
                        map.update_from_prog(&hash_key(k), &v.to_ne_bytes(), f, 1)
                    } else {
                        map.update(&hash_key(k), &v.to_ne_bytes(), f)
                    };
                    let exists = model.contains_key(&k);
                    let want = if exists && f == BPF_NOEXIST {
                        uapi::errno::EEXIST
                    } else if !exists && f == BPF_EXIST {
                        uapi::errno::ENOENT
                    } else if !exists && model.len() == MAX {
                        uapi::errno::E2BIG
                    } else {
                        model.insert(k, v);
                        0
                    };
                    prop_assert_eq!(errno(&got), want);
                }
                Op::Delete(k) => {
                    let got = if prog { map.delete_from_prog(&hash_key(k)) } else { map.delete(&hash_key(k)) };
                    let want = if model.remove(&k).is_some() { 0 } else { uapi::errno::ENOENT };
                    prop_assert_eq!(errno(&got), want);
                }
                Op::Lookup(k) => {
                    let got = map.lookup(&hash_key(k)).ok();
                    prop_assert_eq!(got, model.get(&k).map(|v| v.to_ne_bytes().to_vec()));
                    let p = map.lookup_ptr(&hash_key(k), 0);
                    prop_assert_eq!(p.is_null(), !model.contains_key(&k));
                }
                Op::LookupAndDelete(k) => {
                    let got = map.lookup_and_delete(&hash_key(k), 0).ok();
                    prop_assert_eq!(got, model.remove(&k).map(|v| v.to_ne_bytes().to_vec()));
                }
            }
        }
        let mut keys: Vec<Vec<u8>> = map.keys().unwrap();
        keys.sort();
        let mut want: Vec<Vec<u8>> = model.keys().map(|&k| hash_key(k).to_vec()).collect();
        want.sort();
        prop_assert_eq!(keys, want);
        let r = map.check().unwrap();
        prop_assert_eq!(r.live, model.len() as u64);
        prop_assert_eq!(r.leaked, 0);
        // Batches see the same contents.
        let b = map.lookup_batch(None, 64, 0, 0).unwrap();
        prop_assert!(b.end);
        prop_assert_eq!(b.count as usize, model.len());
    }

    #[test]
    fn array_matches_a_vec(ops in prop::collection::vec((0u32..10, any::<u32>(), 0u64..3), 1..100)) {
        let map = Map::create(MapSpec::new(T::Array, 4, 4, 8), &MapOptions::new(1)).unwrap();
        let mut model = [0u32; 8];
        for (i, v, f) in ops {
            let got = map.update(&i.to_ne_bytes(), &v.to_ne_bytes(), f);
            let want = if i >= 8 {
                uapi::errno::E2BIG
            } else if f == BPF_NOEXIST {
                uapi::errno::EEXIST
            } else {
                model[i as usize] = v;
                0
            };
            prop_assert_eq!(errno(&got), want);
        }
        for i in 0..10u32 {
            let got = map.lookup(&i.to_ne_bytes()).ok();
            prop_assert_eq!(got, model.get(i as usize).map(|v| v.to_ne_bytes().to_vec()));
        }
    }
}

// ---- LPM ----------------------------------------------------------------

const BITS: u32 = 16;

fn masked(pl: u32, d: [u8; 2]) -> u16 {
    let v = u16::from_be_bytes(d);
    if pl == 0 {
        0
    } else {
        v & (u16::MAX << (16 - pl))
    }
}

fn lpm_key(pl: u32, d: [u8; 2]) -> [u8; 6] {
    let mut k = [0u8; 6];
    k[..4].copy_from_slice(&pl.to_ne_bytes());
    k[4..].copy_from_slice(&d);
    k
}

#[derive(Debug, Clone)]
enum LpmOp {
    Update(u32, [u8; 2], u32, u64),
    Delete(u32, [u8; 2]),
    Lookup(u32, [u8; 2]),
}

fn lpm_op() -> impl Strategy<Value = LpmOp> {
    // Few distinct high bits so prefixes nest and collide often.
    let data = (0u8..4, 0u8..4).prop_map(|(a, b)| [a << 6 | a, b << 6]);
    let pl = 0u32..=17;
    prop_oneof![
        4 => (pl.clone(), data.clone(), any::<u32>(), 0u64..3).prop_map(|(p, d, v, f)| LpmOp::Update(p, d, v, f)),
        2 => (pl.clone(), data.clone()).prop_map(|(p, d)| LpmOp::Delete(p, d)),
        3 => (pl, data).prop_map(|(p, d)| LpmOp::Lookup(p, d)),
    ]
}

fn naive_lookup(model: &BTreeMap<(u32, u16), u32>, pl: u32, d: [u8; 2]) -> Option<u32> {
    if pl > BITS {
        return None;
    }
    (0..=pl)
        .rev()
        .find_map(|l| model.get(&(l, masked(l, d))).copied())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn lpm_matches_naive_longest_prefix(ops in prop::collection::vec(lpm_op(), 1..150)) {
        const MAXE: usize = 10;
        let map = Map::create(
            MapSpec::new(T::LpmTrie, 6, 4, MAXE as u32).with_flags(BPF_F_NO_PREALLOC),
            &MapOptions::new(1),
        ).unwrap();
        let mut model: BTreeMap<(u32, u16), u32> = BTreeMap::new();
        for op in ops {
            match op {
                LpmOp::Update(pl, d, v, f) => {
                    let got = map.update(&lpm_key(pl, d), &v.to_ne_bytes(), f);
                    let key = (pl, masked(pl.min(16), d));
                    let exists = model.contains_key(&key);
                    let want = if pl > BITS {
                        uapi::errno::EINVAL
                    } else if exists && f == BPF_NOEXIST {
                        uapi::errno::EEXIST
                    } else if !exists && f == BPF_EXIST {
                        uapi::errno::ENOENT
                    } else if !exists && model.len() == MAXE {
                        uapi::errno::ENOSPC
                    } else {
                        model.insert(key, v);
                        0
                    };
                    prop_assert_eq!(errno(&got), want);
                }
                LpmOp::Delete(pl, d) => {
                    let got = map.delete(&lpm_key(pl, d));
                    let want = if pl > BITS {
                        uapi::errno::EINVAL
                    } else if model.remove(&(pl, masked(pl, d))).is_some() {
                        0
                    } else {
                        uapi::errno::ENOENT
                    };
                    prop_assert_eq!(errno(&got), want);
                }
                LpmOp::Lookup(pl, d) => {
                    let got = map.lookup(&lpm_key(pl, d)).ok().map(|v| u32::from_ne_bytes(v[..].try_into().unwrap()));
                    prop_assert_eq!(got, naive_lookup(&model, pl, d));
                }
            }
            let r = map.check().unwrap();
            prop_assert_eq!(r.leaked, 0);
        }
        let mut keys: Vec<(u32, u16)> = map.keys().unwrap().iter().map(|k| {
            let pl = u32::from_ne_bytes(k[..4].try_into().unwrap());
            (pl, masked(pl, [k[4], k[5]]))
        }).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), n, "get_next_key listed a key twice");
        prop_assert_eq!(keys, model.keys().copied().collect::<Vec<_>>());
    }

    #[test]
    fn lru_never_loses_the_latest_write(keys in prop::collection::vec(0u32..40, 1..300)) {
        let map = Map::create(MapSpec::new(T::LruHash, 4, 4, 8), &MapOptions::new(1)).unwrap();
        for (i, k) in keys.iter().enumerate() {
            map.update(&k.to_ne_bytes(), &(i as u32).to_ne_bytes(), BPF_ANY).unwrap();
            prop_assert_eq!(map.lookup(&k.to_ne_bytes()).unwrap(), (i as u32).to_ne_bytes().to_vec());
            let r = map.check().unwrap();
            prop_assert!(r.live <= 8);
            prop_assert_eq!(r.leaked, 0);
        }
    }
}
