//! Malformed objects: real test objects truncated, with flipped bytes, and
//! with their ELF structures corrupted on purpose — section headers,
//! symbols, relocation entries, `.BTF`/`.BTF.ext` bytes. Parsing must
//! return (an error is fine), never panic, and stay fast. The `elf_parse`
//! fuzz target (fuzz/) does the same without end; this keeps a
//! deterministic slice of it in every test run.

use oxbpf_object::{CoreTarget, ObjectSpec, ParseOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// splitmix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn objects() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn parse(bytes: &[u8], what: &str) {
    let opts = ParseOptions {
        core: CoreTarget::Builtin,
        ..ParseOptions::default()
    };
    let start = Instant::now();
    let r = std::panic::catch_unwind(|| ObjectSpec::parse_with(bytes, "m.o", &opts).map(|_| ()));
    assert!(r.is_ok(), "panic on {what}");
    assert!(start.elapsed() < Duration::from_secs(5), "slow on {what}");
}

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}

fn u32_at(b: &[u8], o: usize) -> u64 {
    u64::from(u32::from_le_bytes(b[o..o + 4].try_into().unwrap()))
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// (header offset, type, data offset, size, entsize) of each section.
fn sections(b: &[u8]) -> Vec<(usize, u32, usize, usize, usize)> {
    let (shoff, shnum) = (u64_at(b, 0x28) as usize, u16_at(b, 0x3c));
    (0..shnum)
        .map(|i| {
            let h = shoff + i * 64;
            (
                h,
                u32_at(b, h + 4) as u32,
                u64_at(b, h + 0x18) as usize,
                u64_at(b, h + 0x20) as usize,
                u64_at(b, h + 0x38) as usize,
            )
        })
        .collect()
}

const INTERESTING: [u64; 9] = [
    0,
    1,
    7,
    8,
    0xff,
    0xffff,
    0xffff_fff0,
    u32::MAX as u64,
    u64::MAX,
];

fn put(b: &mut [u8], at: usize, width: usize, v: u64) {
    let end = (at + width).min(b.len());
    if at < end {
        b[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
    }
}

#[test]
fn truncated_objects() {
    for (name, bytes) in objects() {
        let mut len = 0;
        while len < bytes.len() {
            parse(&bytes[..len], &format!("{name} truncated to {len}"));
            len += 1 + len / 8;
        }
    }
}

#[test]
fn flipped_bytes() {
    let mut rng = Rng(0x0b9f);
    for (name, bytes) in objects() {
        for round in 0..150 {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            parse(&b, &format!("{name} flip round {round}"));
        }
    }
}

#[test]
fn corrupted_section_headers() {
    let mut rng = Rng(0x5ec7);
    // (field offset in Elf64_Shdr, width): name, type, flags, offset,
    // size, link, info, entsize.
    let fields = [
        (0, 4),
        (4, 4),
        (8, 8),
        (0x18, 8),
        (0x20, 8),
        (0x28, 4),
        (0x2c, 4),
        (0x38, 8),
    ];
    for (name, bytes) in objects() {
        let secs = sections(&bytes);
        for round in 0..120 {
            let mut b = bytes.clone();
            let (h, ..) = secs[rng.below(secs.len())];
            let (f, w) = fields[rng.below(fields.len())];
            let v = match rng.below(3) {
                0 => INTERESTING[rng.below(INTERESTING.len())],
                1 => rng.below(secs.len() + 2) as u64,
                _ => u64_at(&bytes, (h + f) & !7)
                    .wrapping_add(rng.below(17) as u64)
                    .wrapping_sub(8),
            };
            put(&mut b, h + f, w, v);
            parse(&b, &format!("{name} section header round {round}"));
        }
    }
}

#[test]
fn corrupted_symbols_and_relocations() {
    let mut rng = Rng(0x5e1f);
    for (name, bytes) in objects() {
        let secs = sections(&bytes);
        let tables: Vec<_> = secs
            .iter()
            .filter(|s| matches!(s.1, 2 | 9) && s.3 > 0 && s.4 > 0)
            .copied()
            .collect();
        for round in 0..200 {
            let mut b = bytes.clone();
            let Some(&(_, ty, off, size, ent)) = tables.get(rng.below(tables.len())) else {
                break;
            };
            let entry = off + rng.below(size / ent) * ent;
            let (field, width) = match ty {
                // Elf64_Sym: name, info, other, shndx, value, size.
                2 => [(0, 4), (4, 1), (5, 1), (6, 2), (8, 8), (16, 8)][rng.below(6)],
                // Elf64_Rel: offset, then info = type (low) | symbol (high).
                _ => [(0, 8), (8, 4), (12, 4)][rng.below(3)],
            };
            let v = match rng.below(2) {
                0 => INTERESTING[rng.below(INTERESTING.len())],
                _ => rng.below(64) as u64,
            };
            put(&mut b, entry + field, width, v);
            parse(&b, &format!("{name} table entry round {round}"));
        }
    }
}

#[test]
fn corrupted_btf() {
    let mut rng = Rng(0xb7f);
    for (name, bytes) in objects() {
        let secs = sections(&bytes);
        let strtab = secs[u16_at(&bytes, 0x3e)];
        let named = |n: &str| {
            secs.iter().copied().find(|s| {
                let at = strtab.2 + u32_at(&bytes, s.0) as usize;
                bytes.get(at..at + n.len() + 1) == Some(&[n.as_bytes(), b"\0"].concat()[..])
            })
        };
        for sec in [".BTF", ".BTF.ext"] {
            let Some((_, _, off, size, _)) = named(sec) else {
                continue;
            };
            for round in 0..150 {
                let mut b = bytes.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = off + rng.below(size);
                    match rng.below(2) {
                        0 => b[at] ^= 1 << rng.below(8),
                        _ => put(
                            &mut b,
                            at & !3,
                            4,
                            INTERESTING[rng.below(INTERESTING.len())],
                        ),
                    }
                }
                parse(&b, &format!("{name} {sec} round {round}"));
            }
        }
    }
}
