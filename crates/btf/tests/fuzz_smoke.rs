//! The fuzz target's checks on stable Rust, so CI exercises them: mutated
//! copies of the test objects' `.BTF` and `.BTF.ext` (flipped bytes,
//! interesting words, truncations) go through parsing, every query and
//! every dump. Passing means no panic, no hang, no runaway allocation.

mod common;
use common::*;
use oxbpf_btf::{dump, Btf, BtfExt};

/// xorshift64*: deterministic, so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 => {
                let i = rng.below(v.len());
                if let Some(b) = v.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                // A word-aligned interesting value: type ids, lengths, kinds.
                const WORDS: [u32; 8] = [
                    0,
                    1,
                    2,
                    0xffff_ffff,
                    0x8000_0000,
                    0x0d00_ffff,
                    0x1300_0001,
                    12,
                ];
                let i = rng.below(v.len() / 4) * 4;
                if i + 4 <= v.len() {
                    v[i..i + 4].copy_from_slice(&WORDS[rng.below(WORDS.len())].to_le_bytes());
                }
            }
            2 => v.truncate(rng.below(v.len() + 1)),
            _ => {
                let i = rng.below(v.len());
                let extra: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                v.splice(i.min(v.len())..i.min(v.len()), extra);
            }
        }
    }
    v
}

fn exercise(btf: &Btf) {
    let mut s = String::new();
    let _ = dump::raw(btf, &mut s);
    let _ = dump::json(btf, true, &mut s);
    let _ = dump::c::header(btf, &mut s);
    for (id, t) in btf.types() {
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.align_of(id);
        if let Some(name) = btf.name_by_offset(t.name_off()) {
            let _ = btf.find_member(id, name);
        }
    }
}

#[test]
fn mutated_objects_never_panic() {
    let mut rng = Rng(0x5eed_b7f0);
    let (mut parsed, mut runs) = (0, 0);
    for stem in objects() {
        let btf_bytes = section(&stem, ".BTF").unwrap();
        let ext_bytes = section(&stem, ".BTF.ext").unwrap();
        let good = Btf::parse(&btf_bytes).unwrap();
        for _ in 0..400 {
            let m = mutate(&mut rng, &btf_bytes);
            runs += 1;
            if let Ok(b) = Btf::parse(&m) {
                parsed += 1;
                exercise(&b);
            }
            let e = mutate(&mut rng, &ext_bytes);
            let _ = BtfExt::parse(&e, &good);
        }
    }
    eprintln!("{runs} mutated inputs, {parsed} still parsed as BTF");
    assert!(
        parsed > runs / 20,
        "mutations too destructive to reach past the header"
    );
}

#[test]
fn random_bytes_behind_a_valid_header_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let types = rng.below(200) as u32 & !3;
        let strs = rng.below(64) as u32;
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for w in [24, 0, types, types, strs] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend((0..types + strs).map(|_| {
            // Mostly small values, so that kinds and ids are often valid.
            let r = rng.next();
            if r.checked_rem(3) == Some(0) {
                r as u8
            } else {
                (r % 20) as u8
            }
        }));
        if let Ok(btf) = Btf::parse(&b) {
            exercise(&btf);
        }
    }
}
