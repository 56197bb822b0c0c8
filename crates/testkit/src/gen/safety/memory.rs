//! Templates that touch memory through checked pointers: the packet behind
//! `data + N <= data_end` checks, map values behind null checks and bounds,
//! ring buffer records.

use super::*;

impl Gen<'_, '_> {
    /// `rp = r7 + n; if rp > r8 goto skip` in one of its forms, then `body`.
    pub(super) fn packet_guard(&mut self, n: i64, body: impl FnOnce(&mut Self)) {
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

    pub(super) fn packet(&mut self) {
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
    pub(super) fn packet_fixed(&mut self, n: i64, wrong: bool) {
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
    pub(super) fn packet_var(&mut self, n: i64, wrong: bool) {
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

    /// A bounded walk over the packet bytes, one bounds check per step.
    pub(super) fn packet_loop(&mut self) {
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
    pub(super) fn key(&mut self, m: usize) {
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

    pub(super) fn map_lookup(&mut self) {
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
    pub(super) fn value_fixed(&mut self, vs: i64) {
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
    pub(super) fn value_var(&mut self, vs: i64) {
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

    pub(super) fn value_atomic(&mut self, vs: i64) {
        if vs < 8 {
            return;
        }
        let off = 8 * self.src.below((vs / 8) as u64) as i64;
        let op = self.src.pick(&["+=", "|=", "&=", "^="]);
        self.emit(format!("lock *(u64 *)(r0 + {off}) {op} r9"));
    }

    pub(super) fn map_update(&mut self) {
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
    pub(super) fn ringbuf_record(&mut self) {
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

    pub(super) fn map_delete(&mut self) {
        let m = 1 + self.src.below(self.keyed as u64 - 1) as usize;
        self.key(m);
        self.emit("r2 = r10");
        self.emit(format!("r2 += {KEY_OFF}"));
        self.emit(format!("ld_pseudo r1, 1, {m}"));
        self.emit("call 3");
        self.clobber_call();
        self.emit("r9 ^= r0");
    }
}
