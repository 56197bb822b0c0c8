//! The generator's core: registers and stack facts, statements, control
//! flow, scalar code, spills, context fields and subprograms.

use super::*;

impl Gen<'_, '_> {
    pub(super) fn emit(&mut self, s: impl Into<String>) {
        self.out.push(s.into());
    }

    pub(super) fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }

    pub(super) fn oops(&mut self) -> bool {
        self.src.chance(self.wrong)
    }

    pub(super) fn prologue(&mut self) {
        self.emit("r6 = r1");
        let (d, e) = match self.prog_type {
            ProgType::Xdp => (uapi::ctx::xdp_md::DATA, uapi::ctx::xdp_md::DATA_END),
            _ => (uapi::ctx::sk_buff::DATA, uapi::ctx::sk_buff::DATA_END),
        };
        self.emit(format!("r7 = *(u32 *)(r6 + {d})"));
        self.emit(format!("r8 = *(u32 *)(r6 + {e})"));
        self.emit("r9 = 0");
    }

    pub(super) fn epilogue(&mut self) {
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
    pub(super) fn subprogram(&mut self, n: i64, stack: bool) -> String {
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
    pub(super) fn call_with_stack_buf(&mut self) {
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
    pub(super) fn free_reg(&mut self) -> u8 {
        let free: Vec<u8> = SCRATCH
            .iter()
            .copied()
            .filter(|r| self.reserved & (1 << r) == 0)
            .collect();
        self.src.pick(&free)
    }

    /// A register holding a scalar (making one if none does).
    pub(super) fn scalar(&mut self) -> u8 {
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
    pub(super) fn set_scalar(&mut self, r: u8) {
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

    pub(super) fn imm(&mut self) -> i64 {
        match self.src.below(4) {
            0 => self.src.below(16) as i64,
            1 => self.src.pick(&[-1, -8, 63, 64, 255, 256, 65535, 1 << 20]),
            2 => self.src.u64() as i32 as i64,
            _ => self.src.below(512) as i64 - 256,
        }
    }

    pub(super) fn ctx_scalar_field(&mut self) -> u32 {
        use uapi::ctx::{sk_buff as s, xdp_md as x};
        match self.prog_type {
            ProgType::Xdp => self.src.pick(&[x::INGRESS_IFINDEX, x::RX_QUEUE_INDEX]),
            _ => self
                .src
                .pick(&[s::LEN, s::MARK, s::PRIORITY, s::CB, s::CB + 8, s::HASH]),
        }
    }

    /// After a helper call: r1–r5 are gone, r0 is the result.
    pub(super) fn clobber_call(&mut self) {
        self.f.scalars = 0;
    }

    pub(super) fn stmt(&mut self) {
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

    pub(super) fn block(&mut self, n: u64) {
        self.depth += 1;
        for _ in 0..1 + self.src.below(n) {
            self.stmt();
        }
        self.depth -= 1;
    }

    pub(super) fn alu(&mut self) {
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
    pub(super) fn fold(&mut self) {
        let s = self.scalar();
        let op = self.src.pick(&["+=", "^=", "|="]);
        self.emit(format!("r9 {op} r{s}"));
    }

    pub(super) fn size(&mut self) -> (u32, &'static str) {
        self.src
            .pick(&[(1, "u8"), (2, "u16"), (4, "u32"), (8, "u64")])
    }

    /// Three distinct writable scratch registers.
    pub(super) fn three_regs(&mut self) -> [u8; 3] {
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

    /// Makes `r` (an unknown scalar) provably at most `limit` (and not
    /// negative) or jumps to `skip`, in one of the forms compilers emit.
    /// With `wrong`, some forms leave a hole: a signed-only check (negative
    /// values pass), a 32-bit check of a 64-bit value.
    pub(super) fn bound(&mut self, r: u8, limit: i64, skip: &str, wrong: bool) {
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

    /// A read or write of the spill area at a variable, bounded offset.
    pub(super) fn stack_var(&mut self) {
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
        if self.src.chance(50) {
            self.emit(format!("r{d} = *(u64 *)(r{p} + 0)"));
            self.emit(format!("r9 += r{d}"));
        } else {
            // A write at a variable offset: which slot it hit is unknown,
            // so none counts as written (later reads of the others must
            // still be refused).
            let (_, ty) = if self.src.chance(70) {
                (8, "u64")
            } else {
                self.size()
            };
            self.emit(format!("*({ty} *)(r{p} + 0) = r9"));
            if self.oops() || self.src.chance(10) {
                // Read a slot the write may have missed.
                let slot = 1 + self.src.below(SPILL_SLOTS as u64);
                self.emit(format!("r{d} = *(u64 *)(r10 - {})", slot * 8));
                self.emit(format!("r9 ^= r{d}"));
            }
        }
        self.emit(format!("{skip}:"));
        self.f.scalars &= !((1 << i) | (1 << p) | (1 << d));
    }

    pub(super) fn spill_fill(&mut self) {
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

    pub(super) fn cond_jump(&mut self, target: &str) {
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

    pub(super) fn cond(&mut self) {
        let skip = self.label();
        self.cond_jump(&skip);
        let before = self.f;
        self.block(4);
        self.emit(format!("{skip}:"));
        self.f = self.f.meet(before);
    }

    pub(super) fn if_else(&mut self) {
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
    pub(super) fn counted_loop(&mut self) {
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

    pub(super) fn ctx_access(&mut self) {
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
