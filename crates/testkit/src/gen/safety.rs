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

impl Gen<'_, '_> {
    fn emit(&mut self, s: impl Into<String>) {
        self.out.push(s.into());
    }

    fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }

    fn oops(&mut self) -> bool {
        self.src.chance(self.wrong)
    }

    fn prologue(&mut self) {
        self.emit("r6 = r1");
        let (d, e) = match self.prog_type {
            ProgType::Xdp => (uapi::ctx::xdp_md::DATA, uapi::ctx::xdp_md::DATA_END),
            _ => (uapi::ctx::sk_buff::DATA, uapi::ctx::sk_buff::DATA_END),
        };
        self.emit(format!("r7 = *(u32 *)(r6 + {d})"));
        self.emit(format!("r8 = *(u32 *)(r6 + {e})"));
        self.emit("r9 = 0");
    }

    fn epilogue(&mut self) {
        let end = self.label();
        self.emit(format!("*(u32 *)({}) = 0", mem(10, KEY_OFF)));
        self.emit("r2 = r10");
        self.emit(format!("r2 += {KEY_OFF}"));
        self.emit("ld_pseudo r1, 1, 0");
        self.emit("call 1");
        self.emit(format!("if r0 == 0 goto {end}"));
        self.emit("*(u64 *)(r0 + 0) = r9");
        self.emit(format!("{end}:"));
        self.emit("r0 = r9");
        self.emit("r0 &= 3");
        self.emit("exit");
        let subs = std::mem::take(&mut self.subs);
        self.out.extend(subs);
    }

    /// A subprogram that takes a pointer to `n` readable and writable
    /// bytes in r1 (caller's stack or a map value) and a scalar in r2,
    /// reads and writes them at constant and bounded variable offsets,
    /// keeps something on its own stack, and returns a scalar. Returns its
    /// label.
    fn subprogram(&mut self, n: i64, stack: bool) -> String {
        let name = format!("f{}", self.labels + 1);
        self.labels += 1;
        let outer = std::mem::take(&mut self.out);
        let (f, reserved, depth) = (self.f, self.reserved, self.depth);
        self.emit(format!("{name}:"));
        self.emit("r0 = 0");
        self.emit("*(u64 *)(r10 - 8) = r2");
        for _ in 0..1 + self.src.below(4) {
            let (sz, ty) = self.size();
            let sz = sz as i64;
            if sz > n {
                continue;
            }
            // Stack accesses must be aligned (the kernel's rule for the
            // stack); map values need not be.
            let align = if stack { sz } else { 1 };
            match self.src.below(5) {
                0 | 1 => {
                    let off = if self.oops() {
                        n - sz + align
                    } else {
                        self.src.below(((n - sz) / align + 1) as u64) as i64 * align
                    };
                    self.emit(format!("r3 = *({ty} *)(r1 + {off})"));
                    self.emit("r0 += r3");
                }
                2 => {
                    let off = self.src.below(((n - sz) / align + 1) as u64) as i64 * align;
                    self.emit(format!("*({ty} *)(r1 + {off}) = r2"));
                }
                3 if stack => {
                    let skip = self.label();
                    self.emit("r3 = *(u64 *)(r10 - 8)");
                    let wrong = self.oops();
                    self.bound(3, n - 1, &skip, wrong);
                    self.emit("r4 = r1");
                    self.emit("r4 += r3");
                    self.emit("r5 = *(u8 *)(r4 + 0)");
                    self.emit("r0 ^= r5");
                    self.emit(format!("{skip}:"));
                }
                3 => {
                    let skip = self.label();
                    self.emit("r3 = *(u64 *)(r10 - 8)");
                    let wrong = self.oops();
                    self.bound(3, n - sz, &skip, wrong);
                    self.emit("r4 = r1");
                    self.emit("r4 += r3");
                    self.emit(format!("r5 = *({ty} *)(r4 + 0)"));
                    self.emit("r0 ^= r5");
                    self.emit(format!("{skip}:"));
                }
                _ => {
                    let top = self.label();
                    let end = if self.oops() { n + 1 } else { n };
                    self.emit("r3 = 0");
                    self.emit(format!("{top}:"));
                    self.emit("r4 = r1");
                    self.emit("r4 += r3");
                    self.emit("r5 = *(u8 *)(r4 + 0)");
                    self.emit("r0 += r5");
                    self.emit("r3 += 1");
                    self.emit(format!("if r3 < {end} goto {top}"));
                }
            }
        }
        self.emit("r2 = *(u64 *)(r10 - 8)");
        self.emit("r0 += r2");
        self.emit("exit");
        let body = std::mem::replace(&mut self.out, outer);
        self.subs.extend(body);
        (self.f, self.reserved, self.depth) = (f, reserved, depth);
        name
    }

    /// Calls a subprogram with a pointer to an initialised buffer on the
    /// caller's stack.
    fn call_with_stack_buf(&mut self) {
        let n = 8 * (1 + self.src.below(8) as i64);
        let s = self.scalar();
        self.emit(format!("r2 = r{s}"));
        let words = if self.oops() { n / 8 - 1 } else { n / 8 };
        for i in 0..words {
            self.emit(format!(
                "*(u64 *)({}) = r9",
                mem(10, VAL_OFF + 8 * i as i32)
            ));
        }
        let callee_n = if self.oops() { n + 8 } else { n };
        let f = self.subprogram(callee_n, true);
        self.emit("r1 = r10");
        self.emit(format!("r1 += {VAL_OFF}"));
        self.emit(format!("call {f}"));
        self.clobber_call();
        self.emit("r9 += r0");
    }

    /// A scratch register that may be written.
    fn free_reg(&mut self) -> u8 {
        let free: Vec<u8> = SCRATCH
            .iter()
            .copied()
            .filter(|r| self.reserved & (1 << r) == 0)
            .collect();
        self.src.pick(&free)
    }

    /// A register holding a scalar (making one if none does).
    fn scalar(&mut self) -> u8 {
        let have: Vec<u8> = SCRATCH
            .iter()
            .copied()
            .filter(|r| self.f.scalars & (1 << r) != 0)
            .collect();
        if !have.is_empty() && self.src.chance(80) {
            return self.src.pick(&have);
        }
        let r = self.free_reg();
        self.set_scalar(r);
        r
    }

    /// Puts some scalar in `r` and records it.
    fn set_scalar(&mut self, r: u8) {
        match self.src.below(6) {
            0 => {
                let v = self.imm();
                self.emit(format!("r{r} = {v}"));
            }
            1 => self.emit(format!("r{r} = r9")),
            2 => {
                let v = self.src.u64();
                self.emit(format!("r{r} = {v:#x} ll"));
            }
            4 => {
                let off = self.ctx_scalar_field();
                self.emit(format!("r{r} = *(u32 *)(r6 + {off})"));
            }
            _ => {
                let v = self.src.pick(&[0, 1, 7, 255, 4096, -1, i32::MAX, i32::MIN]);
                self.emit(format!("w{r} = {v}"));
            }
        }
        self.f.scalars |= 1 << r;
    }

    fn imm(&mut self) -> i64 {
        match self.src.below(4) {
            0 => self.src.below(16) as i64,
            1 => self.src.pick(&[-1, -8, 63, 64, 255, 256, 65535, 1 << 20]),
            2 => self.src.u64() as i32 as i64,
            _ => self.src.below(512) as i64 - 256,
        }
    }

    fn ctx_scalar_field(&mut self) -> u32 {
        use uapi::ctx::{sk_buff as s, xdp_md as x};
        match self.prog_type {
            ProgType::Xdp => self.src.pick(&[x::INGRESS_IFINDEX, x::RX_QUEUE_INDEX]),
            _ => self
                .src
                .pick(&[s::LEN, s::MARK, s::PRIORITY, s::CB, s::CB + 8, s::HASH]),
        }
    }

    /// After a helper call: r1–r5 are gone, r0 is the result.
    fn clobber_call(&mut self) {
        self.f.scalars = 0;
    }

    fn stmt(&mut self) {
        let nest = self.depth < 3;
        let calls = self.reserved == 0;
        match self.src.below(21) {
            0..=3 => self.alu(),
            4 => self.fold(),
            5..=7 => self.packet(),
            8..=9 if calls => self.map_lookup(),
            10 if calls => self.map_update(),
            11 if calls && self.keyed > 1 => self.map_delete(),
            11 if calls && self.ringbuf.is_some() => self.ringbuf_record(),
            12 => self.spill_fill(),
            13 if self.f.slots == 0xff || self.src.chance(20) => self.stack_var(),
            13 => self.spill_fill(),
            14..=15 if nest => self.cond(),
            16 if nest => self.if_else(),
            17 if nest && calls => self.counted_loop(),
            18 => self.ctx_access(),
            20 if calls && self.ringbuf.is_some() && self.src.chance(50) => self.ringbuf_record(),
            20 if calls => self.call_with_stack_buf(),
            19 if calls => {
                self.emit("call 7"); // bpf_get_prandom_u32
                self.clobber_call();
                self.f.scalars = 1;
            }
            _ => self.alu(),
        }
    }

    fn block(&mut self, n: u64) {
        self.depth += 1;
        for _ in 0..1 + self.src.below(n) {
            self.stmt();
        }
        self.depth -= 1;
    }

    fn alu(&mut self) {
        let d = self.free_reg();
        if self.f.scalars & (1 << d) == 0 {
            self.set_scalar(d);
        }
        let w = if self.src.chance(30) { "w" } else { "r" };
        let ops = [
            "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "s>>=",
        ];
        let op = self.src.pick(&ops);
        let shift = op.contains("<<") || op.contains(">>");
        let rhs = if self.src.chance(50) {
            if shift {
                let max = if w == "w" { 32 } else { 64 };
                self.src.below(max).to_string()
            } else {
                self.imm().to_string()
            }
        } else {
            let s = self.scalar();
            format!("{w}{s}")
        };
        match self.src.below(12) {
            0 => self.emit(format!("{w}{d} = -{w}{d}")),
            1 => {
                let b = self.src.pick(&[16, 32, 64]);
                self.emit(format!("r{d} = be{b} r{d}"));
            }
            _ => self.emit(format!("{w}{d} {op} {rhs}")),
        }
        self.f.scalars |= 1 << d;
    }

    /// Folds a scalar into the accumulator, so that what a program computes
    /// shows in its output.
    fn fold(&mut self) {
        let s = self.scalar();
        let op = self.src.pick(&["+=", "^=", "|="]);
        self.emit(format!("r9 {op} r{s}"));
    }

    fn size(&mut self) -> (u32, &'static str) {
        self.src
            .pick(&[(1, "u8"), (2, "u16"), (4, "u32"), (8, "u64")])
    }

    /// `rp = r7 + n; if rp > r8 goto skip` in one of its forms, then `body`.
    fn packet_guard(&mut self, n: i64, body: impl FnOnce(&mut Self)) {
        let p = self.free_reg();
        let skip = self.label();
        self.emit(format!("r{p} = r7"));
        self.emit(format!("r{p} += {n}"));
        match self.src.below(4) {
            0 => self.emit(format!("if r{p} > r8 goto {skip}")),
            1 => self.emit(format!("if r8 < r{p} goto {skip}")),
            2 => {
                let ok = self.label();
                self.emit(format!("if r{p} <= r8 goto {ok}"));
                self.emit(format!("goto {skip}"));
                self.emit(format!("{ok}:"));
            }
            _ => {
                let ok = self.label();
                self.emit(format!("if r8 >= r{p} goto {ok}"));
                self.emit(format!("goto {skip}"));
                self.emit(format!("{ok}:"));
            }
        }
        self.f.scalars &= !(1 << p);
        let before = self.f;
        body(self);
        self.emit(format!("{skip}:"));
        self.f = self.f.meet(before);
    }

    fn packet(&mut self) {
        let n = 1 + self.src.below(64) as i64;
        let form = self.src.below(5);
        let wrong = self.oops();
        self.packet_guard(n, |g| match form {
            0 | 1 => g.packet_fixed(n, wrong),
            2 => g.packet_var(n, wrong),
            3 => g.packet_loop(),
            _ => {
                g.packet_fixed(n, wrong);
                g.stmt();
                g.packet_fixed(n, false);
            }
        });
    }

    /// A constant-offset read or write inside the `n` checked bytes.
    fn packet_fixed(&mut self, n: i64, wrong: bool) {
        let (sz, ty) = self.size();
        let sz = sz as i64;
        if sz > n && !wrong {
            return;
        }
        let off = if wrong {
            n - sz + 1
        } else {
            self.src.below((n - sz + 1) as u64) as i64
        };
        if self.src.chance(70) {
            let d = self.free_reg();
            self.emit(format!("r{d} = *({ty} *)({})", mem(7, off as i32)));
            self.f.scalars |= 1 << d;
        } else {
            let s = self.scalar();
            self.emit(format!("*({ty} *)({}) = r{s}", mem(7, off as i32)));
        }
    }

    /// A read at a variable offset: index from the first packet byte,
    /// masked, then its own bounds check.
    fn packet_var(&mut self, n: i64, wrong: bool) {
        let [i, q, e] = self.three_regs();
        let (sz, ty) = self.size();
        let mask = self.src.pick(&[3, 15, 63, 255]);
        let skip = self.label();
        self.emit(format!("r{i} = *(u8 *)(r7 + 0)"));
        if self.src.chance(50) {
            if !(wrong && self.src.chance(50)) {
                self.emit(format!("r{i} &= {mask}"));
            }
        } else {
            self.bound(i, mask, &skip, wrong);
        }
        self.emit(format!("r{q} = r7"));
        self.emit(format!("r{q} += r{i}"));
        self.emit(format!("r{e} = r{q}"));
        let extra = if wrong { sz - 1 } else { sz };
        self.emit(format!("r{e} += {extra}"));
        self.emit(format!("if r{e} > r8 goto {skip}"));
        let _ = n;
        self.emit(format!("r{e} = *({ty} *)(r{q} + 0)"));
        self.emit(format!("r9 += r{e}"));
        self.emit(format!("{skip}:"));
        self.f.scalars &= !((1 << q) | (1 << e));
        self.f.scalars |= 1 << i;
    }

    /// Three distinct writable scratch registers.
    fn three_regs(&mut self) -> [u8; 3] {
        let mut free: Vec<u8> = SCRATCH
            .iter()
            .copied()
            .filter(|r| self.reserved & (1 << r) == 0)
            .collect();
        let mut out = [0u8; 3];
        for o in &mut out {
            let k = self.src.below(free.len() as u64) as usize;
            *o = free.swap_remove(k);
        }
        out
    }

    /// A bounded walk over the packet bytes, one bounds check per step.
    fn packet_loop(&mut self) {
        let [p, e, c] = self.three_regs();
        let k = 1 + self.src.below(12);
        let top = self.label();
        let out = self.label();
        self.emit(format!("r{p} = r7"));
        self.emit(format!("r{c} = 0"));
        self.emit(format!("{top}:"));
        self.emit(format!("r{e} = r{p}"));
        self.emit(format!("r{e} += 1"));
        self.emit(format!("if r{e} > r8 goto {out}"));
        self.emit(format!("r{e} = *(u8 *)(r{p} + 0)"));
        self.emit(format!("r9 += r{e}"));
        self.emit(format!("r{p} += 1"));
        self.emit(format!("r{c} += 1"));
        let bound = if self.oops() { "goto" } else { "" };
        if bound.is_empty() {
            self.emit(format!("if r{c} < {k} goto {top}"));
        } else {
            // Deliberately wrong: the counter is not what bounds the loop.
            self.emit(format!("if r{c} != 0 goto {top}"));
        }
        self.emit(format!("{out}:"));
        self.f.scalars &= !((1 << p) | (1 << e));
        self.f.scalars &= !(1 << c);
    }

    /// Writes a key for map `m` at `r10 + KEY_OFF`.
    fn key(&mut self, m: usize) {
        let map = self.maps[m];
        let v = if self.src.chance(70) {
            self.src.below(map.max_entries as u64 + 2) as i64
        } else {
            self.imm()
        };
        let ty = if map.key_size == 8 { "u64" } else { "u32" };
        if self.src.chance(70) {
            self.emit(format!("*({ty} *)({}) = {v}", mem(10, KEY_OFF)));
        } else {
            let s = self.scalar();
            self.emit(format!("*({ty} *)({}) = r{s}", mem(10, KEY_OFF)));
        }
    }

    fn map_lookup(&mut self) {
        let m = self.src.below(self.keyed as u64) as usize;
        let vs = self.maps[m].value_size as i64;
        self.key(m);
        self.emit("r2 = r10");
        self.emit(format!("r2 += {KEY_OFF}"));
        self.emit(format!("ld_pseudo r1, 1, {m}"));
        self.emit("call 1");
        self.clobber_call();
        let skip = self.label();
        let no_check = self.oops();
        if !no_check {
            self.emit(format!("if r0 == 0 goto {skip}"));
        }
        let before = self.f;
        self.reserved |= 1;
        for _ in 0..1 + self.src.below(3) {
            match self.src.below(6) {
                0 | 1 => self.value_fixed(vs),
                2 => self.value_var(vs),
                3 => self.value_atomic(vs),
                5 if self.src.chance(30) => {
                    // Hand the value to a subprogram; r0 is gone after.
                    let n = if self.oops() { vs + 1 } else { vs };
                    let f = self.subprogram(n, false);
                    self.emit("r1 = r0");
                    self.emit("r2 = r9");
                    self.emit(format!("call {f}"));
                    self.emit("r9 += r0");
                    break;
                }
                4 => {
                    // Spill the value pointer and use it after a fill.
                    let slot = 1 + self.src.below(SPILL_SLOTS as u64) as u32;
                    let r = self.src.pick(&[1u8, 2, 3, 4, 5]);
                    self.emit(format!("*(u64 *)(r10 - {}) = r0", slot * 8));
                    self.f.slots &= !(1 << (slot - 1));
                    self.emit(format!("r{r} = *(u64 *)(r10 - {})", slot * 8));
                    self.emit(format!("r{r} = *(u32 *)(r{r} + 0)"));
                    self.emit(format!("r9 ^= r{r}"));
                    self.f.scalars &= !(1 << r);
                }
                _ => self.alu(),
            }
        }
        self.reserved &= !1;
        self.emit(format!("{skip}:"));
        self.f = self.f.meet(before);
        self.f.scalars &= !1;
    }

    /// Reads or writes the value in r0 at a constant offset.
    fn value_fixed(&mut self, vs: i64) {
        let (sz, ty) = self.size();
        let sz = sz as i64;
        if sz > vs {
            return;
        }
        let off = if self.oops() {
            self.src.pick(&[vs - sz + 1, -1, vs])
        } else {
            self.src.below((vs - sz + 1) as u64) as i64
        };
        let r = self.src.pick(&[1u8, 2, 3, 4, 5]);
        if self.src.chance(60) {
            self.emit(format!("r{r} = *({ty} *)({})", mem(0, off as i32)));
            self.emit(format!("r9 += r{r}"));
        } else {
            self.emit(format!("*({ty} *)({}) = r9", mem(0, off as i32)));
        }
        self.f.scalars &= !(1 << r);
    }

    /// Reads the value in r0 at a bounded variable offset.
    fn value_var(&mut self, vs: i64) {
        let (sz, ty) = self.size();
        let sz = sz as i64;
        if sz > vs {
            return;
        }
        let skip = self.label();
        let r = self.src.pick(&[1u8, 2, 3, 4, 5]);
        let p = if r == 5 { 4 } else { 5 };
        match self.src.below(4) {
            0 => self.emit(format!("r{r} = *(u8 *)(r0 + 0)")),
            1 => self.emit(format!("r{r} = *(u32 *)(r0 + 0)")),
            2 => self.emit(format!("w{r} = w9")),
            _ => self.emit(format!("r{r} = r9")),
        }
        let wrong = self.oops();
        let limit = vs - sz + if wrong && self.src.chance(50) { 1 } else { 0 };
        self.bound(r, limit, &skip, wrong);
        self.emit(format!("r{p} = r0"));
        self.emit(format!("r{p} += r{r}"));
        if self.src.chance(50) {
            self.emit(format!("r{r} = *({ty} *)(r{p} + 0)"));
            self.emit(format!("r9 += r{r}"));
        } else {
            self.emit(format!("*({ty} *)(r{p} + 0) = r9"));
        }
        self.emit(format!("{skip}:"));
        self.f.scalars &= !((1 << p) | (1 << r));
    }

    /// Makes `r` (an unknown scalar) provably at most `limit` (and not
    /// negative) or jumps to `skip`, in one of the forms compilers emit.
    /// With `wrong`, some forms leave a hole: a signed-only check (negative
    /// values pass), a 32-bit check of a 64-bit value.
    fn bound(&mut self, r: u8, limit: i64, skip: &str, wrong: bool) {
        let forms = if wrong { 9 } else { 6 };
        match self.src.below(forms) {
            0 => self.emit(format!("if r{r} > {limit} goto {skip}")),
            1 => self.emit(format!("if r{r} >= {} goto {skip}", limit + 1)),
            2 => {
                let ok = self.label();
                self.emit(format!("if r{r} <= {limit} goto {ok}"));
                self.emit(format!("goto {skip}"));
                self.emit(format!("{ok}:"));
            }
            3 => {
                self.emit(format!("if r{r} s< 0 goto {skip}"));
                self.emit(format!("if r{r} s> {limit} goto {skip}"));
            }
            4 => {
                let mask = (limit.max(0) as u64 + 1).next_power_of_two() / 2;
                self.emit(format!("r{r} &= {}", mask.saturating_sub(1)));
            }
            5 => {
                let l = self.src.below(limit.max(0) as u64 + 1);
                self.emit(format!("if r{r} > {l} goto {skip}"));
                self.emit(format!("r{r} += {}", limit - l as i64));
            }
            6 => self.emit(format!("if r{r} s> {limit} goto {skip}")),
            7 => self.emit(format!("if w{r} > {limit} goto {skip}")),
            _ => self.emit(format!("if r{r} > {} goto {skip}", limit + 8)),
        }
    }

    /// A read of the spill area at a variable, bounded offset.
    fn stack_var(&mut self) {
        let [i, p, d] = self.three_regs();
        let skip = self.label();
        let s = self.scalar();
        self.emit(format!("r{i} = r{s}"));
        let wrong = self.oops();
        self.bound(i, 7, &skip, wrong);
        self.emit(format!("r{i} <<= 3"));
        self.emit(format!("r{p} = r10"));
        self.emit(format!("r{p} += -{}", SPILL_SLOTS * 8));
        self.emit(format!("r{p} += r{i}"));
        self.emit(format!("r{d} = *(u64 *)(r{p} + 0)"));
        self.emit(format!("r9 += r{d}"));
        self.emit(format!("{skip}:"));
        self.f.scalars &= !((1 << i) | (1 << p) | (1 << d));
    }

    fn value_atomic(&mut self, vs: i64) {
        if vs < 8 {
            return;
        }
        let off = 8 * self.src.below((vs / 8) as u64) as i64;
        let op = self.src.pick(&["+=", "|=", "&=", "^="]);
        self.emit(format!("lock *(u64 *)(r0 + {off}) {op} r9"));
    }

    fn map_update(&mut self) {
        let m = self.src.below(self.keyed as u64) as usize;
        let vs = self.maps[m].value_size as i32;
        self.key(m);
        let words = if self.oops() {
            (vs - 1) / 8
        } else {
            (vs + 7) / 8
        };
        for i in 0..words {
            self.emit(format!("*(u64 *)({}) = r9", mem(10, VAL_OFF + 8 * i)));
        }
        self.emit("r2 = r10");
        self.emit(format!("r2 += {KEY_OFF}"));
        self.emit("r3 = r10");
        self.emit(format!("r3 += {VAL_OFF}"));
        let flags = self.src.pick(&[0, 0, 1, 2]);
        self.emit(format!("r4 = {flags}"));
        self.emit(format!("ld_pseudo r1, 1, {m}"));
        self.emit("call 2");
        self.clobber_call();
        self.emit("r9 += r0");
    }

    /// Reserve a ring buffer record, fill it, submit or discard it. Wrong
    /// on purpose: no null check, an access past the record, a path that
    /// skips the submit (a leaked reference).
    fn ringbuf_record(&mut self) {
        let Some(m) = self.ringbuf else { return };
        let size = self.src.pick(&[8i64, 16, 24, 40, 64]);
        self.emit(format!("ld_pseudo r1, 1, {m}"));
        self.emit(format!("r2 = {size}"));
        self.emit("r3 = 0");
        self.emit("call 131"); // bpf_ringbuf_reserve
        self.clobber_call();
        let skip = self.label();
        if !self.oops() {
            self.emit(format!("if r0 == 0 goto {skip}"));
        }
        let before = self.f;
        self.reserved |= 1;
        for _ in 0..1 + self.src.below(3) {
            if self.src.chance(70) {
                self.value_fixed(size);
            } else {
                self.alu();
            }
        }
        if self.oops() {
            let v = self.imm();
            self.emit(format!("if r9 > {v} goto {skip}"));
        }
        self.reserved &= !1;
        self.emit("r1 = r0");
        self.emit("r2 = 0");
        let done = self.src.pick(&[132, 133]); // submit, discard
        self.emit(format!("call {done}"));
        self.clobber_call();
        self.emit(format!("{skip}:"));
        self.f = self.f.meet(before);
        self.f.scalars = 0;
    }

    fn map_delete(&mut self) {
        let m = 1 + self.src.below(self.keyed as u64 - 1) as usize;
        self.key(m);
        self.emit("r2 = r10");
        self.emit(format!("r2 += {KEY_OFF}"));
        self.emit(format!("ld_pseudo r1, 1, {m}"));
        self.emit("call 3");
        self.clobber_call();
        self.emit("r9 ^= r0");
    }

    fn spill_fill(&mut self) {
        let slot = self.src.below(SPILL_SLOTS as u64) as u32;
        let written = self.f.slots & (1 << slot) != 0;
        if !written || self.src.chance(40) {
            let s = self.scalar();
            let (sz, ty) = if self.src.chance(80) {
                (8, "u64")
            } else {
                self.size()
            };
            self.emit(format!("*({ty} *)(r10 - {}) = r{s}", (slot + 1) * 8));
            if sz == 8 {
                self.f.slots |= 1 << slot;
            }
            return;
        }
        let d = self.free_reg();
        let slot = if self.oops() {
            SPILL_SLOTS + 16 + self.src.below(8) as u32
        } else {
            slot
        };
        let (sz, ty) = self.size();
        let off = (slot + 1) * 8 - self.src.below((8 / sz) as u64) as u32 * sz;
        self.emit(format!("r{d} = *({ty} *)(r10 - {off})"));
        self.f.scalars |= 1 << d;
    }

    fn cond_jump(&mut self, target: &str) {
        let a = self.scalar();
        let ops = [
            "==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<=", "&",
        ];
        let op = self.src.pick(&ops);
        let w = if self.src.chance(25) { "w" } else { "r" };
        if self.src.chance(60) {
            let v = self.imm();
            self.emit(format!("if {w}{a} {op} {v} goto {target}"));
        } else {
            let b = self.scalar();
            self.emit(format!("if {w}{a} {op} {w}{b} goto {target}"));
        }
    }

    fn cond(&mut self) {
        let skip = self.label();
        self.cond_jump(&skip);
        let before = self.f;
        self.block(4);
        self.emit(format!("{skip}:"));
        self.f = self.f.meet(before);
    }

    fn if_else(&mut self) {
        let els = self.label();
        let end = self.label();
        self.cond_jump(&els);
        let before = self.f;
        self.block(3);
        let then = self.f;
        self.emit(format!("goto {end}"));
        self.emit(format!("{els}:"));
        self.f = before;
        self.block(3);
        self.emit(format!("{end}:"));
        self.f = self.f.meet(then);
    }

    /// `for (c = 0; c < k; c++) body`, with the counter in a register the
    /// body may not touch, or in a stack slot.
    fn counted_loop(&mut self) {
        let k = 1 + self.src.below(8);
        let top = self.label();
        let before = self.f;
        if self.src.chance(50) {
            let c = self.free_reg();
            self.emit(format!("r{c} = 0"));
            self.emit(format!("{top}:"));
            self.reserved |= 1 << c;
            self.f.scalars |= 1 << c;
            self.block(3);
            self.reserved &= !(1 << c);
            self.emit(format!("r{c} += 1"));
            let bound = if self.oops() { 0 } else { k };
            if bound == 0 {
                self.emit(format!("if r{c} != {} goto {top}", k + 1000));
            } else {
                self.emit(format!("if r{c} < {k} goto {top}"));
            }
        } else {
            let slot = 160 + 8 * self.depth;
            self.emit(format!("*(u64 *)(r10 - {slot}) = 0"));
            self.emit(format!("{top}:"));
            self.block(3);
            self.emit(format!("r1 = *(u64 *)(r10 - {slot})"));
            self.emit("r1 += 1");
            self.emit(format!("*(u64 *)(r10 - {slot}) = r1"));
            self.emit(format!("if r1 < {k} goto {top}"));
            self.f.scalars |= 1 << 1;
        }
        self.f = self.f.meet(before);
    }

    fn ctx_access(&mut self) {
        use uapi::ctx::sk_buff as s;
        let d = self.free_reg();
        if self.prog_type != ProgType::Xdp && self.src.chance(40) {
            let off = self
                .src
                .pick(&[s::MARK, s::PRIORITY, s::CB, s::CB + 4, s::CB + 16]);
            let v = self.scalar();
            self.emit(format!("*(u32 *)(r6 + {off}) = r{v}"));
            return;
        }
        let off = self.ctx_scalar_field();
        let (ty, off) = if self.oops() {
            ("u32", off + 2)
        } else if self.prog_type != ProgType::Xdp && self.src.chance(20) {
            ("u8", off)
        } else {
            ("u32", off)
        };
        self.emit(format!("r{d} = *({ty} *)(r6 + {off})"));
        self.f.scalars |= 1 << d;
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
