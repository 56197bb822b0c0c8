//! Random, mostly valid programs for soundness fuzzing of a verifier.
//!
//! A verifier is sound when every program it accepts runs without touching
//! memory it may not touch, reading what was never written, or looping
//! forever. To test that, we need programs the verifier *accepts* that
//! still do the risky things: packet reads behind `data + N <= data_end`
//! checks, map value accesses behind null checks and index bounds, spills
//! and fills of scalars and pointers, bounded loops. Purely random bytes
//! are almost always rejected, so [`program`] writes structured code the
//! way a compiler would, and then, on purpose and now and then, gets it
//! slightly wrong (an off-by-one bound, a missing null check, a read of a
//! stack slot never written). [`mutate`] perturbs the assembled
//! instructions a little more (an offset, an immediate, a condition), which
//! reaches corners no template thought of.
//!
//! Randomness comes from a [`Src`]: either a seed (property tests) or the
//! bytes of a fuzzer's input, so `cargo fuzz` steers the same generator.
//! The output is LLVM-syntax assembly (`isa::asm`), with maps loaded as
//! `ld_pseudo rN, 1, FD` and the map's index in [`SafetyProgram::maps`] as
//! its fd, so a failing program can be printed, read and minimised line by
//! line.

mod control;
mod memory;

use isa::RawInsn;
use uapi::{MapType, ProgType};

/// A source of random decisions: fuzzer bytes first, then a PRNG.
#[derive(Debug, Clone)]
pub struct Src<'a> {
    bytes: &'a [u8],
    pos: usize,
    state: u64,
}

impl<'a> Src<'a> {
    /// Decisions from a seed only.
    pub fn seed(seed: u64) -> Src<'static> {
        Src {
            bytes: &[],
            pos: 0,
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Decisions from `bytes` (one or two bytes each), continuing with a
    /// PRNG seeded by their length once they run out.
    pub fn bytes(bytes: &'a [u8]) -> Src<'a> {
        Src {
            bytes,
            pos: 0,
            state: bytes.len() as u64,
        }
    }

    fn next(&mut self) -> u64 {
        if self.pos + 2 <= self.bytes.len() {
            let v = u16::from_le_bytes([self.bytes[self.pos], self.bytes[self.pos + 1]]);
            self.pos += 2;
            return v as u64 | ((v as u64) << 16) ^ self.pos as u64;
        }
        // splitmix64
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A full 64-bit value.
    pub fn u64(&mut self) -> u64 {
        let a = self.next();
        a ^ self.next().rotate_left(32)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A map the program uses; its fd in the program is its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyMap {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// A generated program: type, maps and assembly lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyProgram {
    pub prog_type: ProgType,
    /// Map 0 is always an array with values of at least 8 bytes (the
    /// epilogue stores the accumulator `r9` in its key 0).
    pub maps: Vec<SafetyMap>,
    pub lines: Vec<String>,
}

impl SafetyProgram {
    /// The assembly text, one instruction or label per line.
    pub fn source(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    /// Assembles the program (LLVM syntax).
    pub fn assemble(&self) -> Result<Vec<RawInsn>, isa::asm::AsmError> {
        isa::asm::assemble(&self.source(), isa::asm::Syntax::Llvm)
    }
}

/// Scratch registers: r0–r5. r6 = context, r7 = packet start, r8 = packet
/// end, r9 = accumulator (always a scalar).
const SCRATCH: [u8; 6] = [0, 1, 2, 3, 4, 5];
/// 8-byte stack slots for spills: r10-8 … r10-64.
const SPILL_SLOTS: u32 = 8;
/// Key buffer (8 bytes) and value buffer (up to 64 bytes) on the stack.
const KEY_OFF: i32 = -72;
const VAL_OFF: i32 = -144;

/// What the generator knows at a point of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Facts {
    /// Scratch registers holding initialised scalars (bit n = rn).
    scalars: u8,
    /// Spill slots written with a scalar (bit i = r10 - 8(i+1)).
    slots: u8,
}

impl Facts {
    fn meet(self, o: Facts) -> Facts {
        Facts {
            scalars: self.scalars & o.scalars,
            slots: self.slots & o.slots,
        }
    }
}

struct Gen<'s, 'a> {
    src: &'s mut Src<'a>,
    prog_type: ProgType,
    maps: Vec<SafetyMap>,
    out: Vec<String>,
    labels: u32,
    f: Facts,
    /// Registers a loop reserved (not written, no calls) below this point.
    reserved: u8,
    depth: u32,
    /// Percent chance of a deliberate mistake in each template.
    wrong: u64,
    /// Subprograms, laid out after the main program's `exit`.
    subs: Vec<String>,
    /// Maps with keys (array, hash): the first `keyed` of `maps`; a ring
    /// buffer, if any, comes after them.
    keyed: usize,
    ringbuf: Option<usize>,
}

/// Generates a program of about `size` templates (statements).
pub fn program(src: &mut Src<'_>, size: u32) -> SafetyProgram {
    let prog_type = if src.chance(60) {
        ProgType::Xdp
    } else {
        ProgType::SchedCls
    };
    let mut maps = vec![SafetyMap {
        map_type: MapType::Array,
        key_size: 4,
        value_size: src.pick(&[8, 12, 16, 20, 32, 64]),
        max_entries: src.pick(&[1, 2, 4, 8]),
    }];
    if src.chance(70) {
        maps.push(SafetyMap {
            map_type: MapType::Hash,
            key_size: src.pick(&[4, 8]),
            value_size: src.pick(&[8, 13, 16, 24]),
            max_entries: 8,
        });
    }
    let keyed = maps.len();
    let ringbuf = src.chance(30).then(|| {
        maps.push(SafetyMap {
            map_type: MapType::Ringbuf,
            key_size: 0,
            value_size: 0,
            max_entries: 4096,
        });
        keyed
    });
    let wrong = src.pick(&[0, 3, 10]);
    let mut g = Gen {
        src,
        prog_type,
        maps,
        out: Vec::new(),
        labels: 0,
        f: Facts {
            scalars: 0,
            slots: 0,
        },
        reserved: 0,
        depth: 0,
        wrong,
        subs: Vec::new(),
        keyed,
        ringbuf,
    };
    g.prologue();
    let n = 1 + g.src.below(size.max(1) as u64) as u32;
    for _ in 0..n {
        g.stmt();
    }
    g.epilogue();
    SafetyProgram {
        prog_type,
        maps: g.maps,
        lines: g.out,
    }
}

/// `rN + off` / `rN - off` as the LLVM syntax writes a memory operand.
fn mem(r: u8, off: i32) -> String {
    if off < 0 {
        format!("r{r} - {}", -(off as i64))
    } else {
        format!("r{r} + {off}")
    }
}

/// Perturbs up to `n` instructions of an assembled program: an offset or
/// immediate moved by a little, a jump condition or access size changed, a
/// register renamed. Leaves the second slot of `lddw` alone.
pub fn mutate(insns: &mut [RawInsn], src: &mut Src<'_>, n: u32) {
    if insns.is_empty() {
        return;
    }
    for _ in 0..n {
        let i = src.below(insns.len() as u64) as usize;
        if i > 0 && insns[i - 1].code == 0x18 {
            continue;
        }
        let x = &mut insns[i];
        let class = x.code & 7;
        match src.below(6) {
            0 => x.off = x.off.wrapping_add(src.pick(&[-8, -4, -2, -1, 1, 2, 4, 8])),
            1 if x.code != 0x18 => x.imm = x.imm.wrapping_add(src.pick(&[-8, -2, -1, 1, 2, 8, 64])),
            2 if class == 5 || class == 6 => {
                // Another condition of the same class and source.
                let ops = [
                    0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
                ];
                if !matches!(x.code & 0xf0, 0x00 | 0x80 | 0x90 | 0xe0 | 0xf0) {
                    x.code = (x.code & 0x0f) | src.pick(&ops);
                }
            }
            3 if matches!(class, 1..=3) => {
                // Another access size (B, H, W, DW) of the same mode.
                x.code = (x.code & !0x18) | src.pick(&[0x00, 0x08, 0x10, 0x18]);
            }
            4 => x.dst = src.below(10) as u8,
            _ => {
                if x.code != 0x18 && x.code != 0x85 {
                    x.src = src.below(11) as u8;
                }
            }
        }
    }
}
