//! Loads, stores and atomics: which pointer may be dereferenced where, and
//! what the destination register or memory becomes.

use super::alu::MAX_VAR_OFF;
use super::Env;
use crate::domain::{Scalar, Tnum};
use crate::error::*;
use crate::state::stack::locate;
use crate::state::{ByteKind, Ptr, PtrKind, RegState, State};
use isa::{Insn, Operand, PacketMode, Reg, Size};

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Env {
    pub(super) fn check_mem_insn(&mut self, st: &mut State, insn: &Insn) -> Result<(), Fail> {
        match *insn {
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                self.read_reg(st, src)?;
                self.write_reg(dst)?;
                let v = self.mem_access(st, src, off as i32, size.bytes(), Access::Read, None)?;
                let mut v = v.unwrap_or_else(RegState::unknown);
                if let RegState::Scalar(s) = &mut v {
                    if size != Size::DW {
                        if signed {
                            s.val.truncate(size.bytes());
                            s.val.sign_extend(size.bytes() * 8);
                        } else {
                            s.val.truncate(size.bytes());
                        }
                        s.id = 0;
                    }
                }
                *st.cur_mut().reg_mut(dst) = v;
                Ok(())
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                self.read_reg(st, dst)?;
                let val = match src {
                    Operand::Reg(s) => {
                        self.read_reg(st, s)?;
                        Some((st.cur().reg(s).clone(), false))
                    }
                    Operand::Imm(i) => {
                        Some((RegState::scalar(Scalar::constant(i as i64 as u64)), true))
                    }
                };
                self.mem_access(st, dst, off as i32, size.bytes(), Access::Write, val)?;
                Ok(())
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => self.check_atomic(st, size, op, dst, src, off),
            _ => Err(Fail::internal("check_mem_insn on a non-memory insn".into())),
        }
    }

    fn check_atomic(
        &mut self,
        st: &mut State,
        size: Size,
        op: isa::AtomicOp,
        dst: Reg,
        src: Reg,
        off: i16,
    ) -> Result<(), Fail> {
        self.read_reg(st, src)?;
        self.read_reg(st, dst)?;
        if op == isa::AtomicOp::Cmpxchg {
            self.read_reg(st, Reg::R0)?;
        }
        if st.cur().reg(src).as_ptr().is_some() {
            return Err(self.fail(EACCES, format!("R{} leaks addr into mem", src.n())));
        }
        let dp = st.cur().reg(dst).as_ptr().map(|p| p.kind);
        if matches!(
            dp,
            Some(PtrKind::Ctx | PtrKind::Packet { .. } | PtrKind::PacketMeta { .. })
        ) {
            let msg = format!(
                "BPF_ATOMIC stores into R{} {} is not allowed",
                dst.n(),
                dp.map_or("", |k| k.name())
            );
            return Err(self.fail(EACCES, msg));
        }
        let n = size.bytes();
        self.check_atomic_alignment(st, dst, off, n)?;
        self.mem_access(st, dst, off as i32, n, Access::Read, None)?;
        let written = RegState::unknown();
        self.mem_access(
            st,
            dst,
            off as i32,
            n,
            Access::Write,
            Some((written, false)),
        )?;
        let mut old = Scalar::UNKNOWN;
        old.truncate(n);
        if op == isa::AtomicOp::Cmpxchg {
            self.write_reg(Reg::R0)?;
            *st.cur_mut().reg_mut(Reg::R0) = RegState::scalar(old);
        } else if op.fetches() {
            self.write_reg(src)?;
            *st.cur_mut().reg_mut(src) = RegState::scalar(old);
        }
        Ok(())
    }

    /// Atomics must be naturally aligned whatever the memory (the kernel's
    /// `check_atomic` asks for strict alignment once): a locked instruction
    /// on a misaligned address faults or is not atomic. Plain loads and
    /// stores of map values may be misaligned; stack accesses are checked
    /// for alignment in `stack_access` already. Found by the soundness
    /// fuzzer (`tests/soundness.rs`).
    fn check_atomic_alignment(
        &mut self,
        st: &State,
        dst: Reg,
        off: i16,
        size: u32,
    ) -> Result<(), Fail> {
        let Some(p) = st.cur().reg(dst).as_ptr() else {
            return Ok(());
        };
        let desc = match p.kind {
            PtrKind::Stack { .. } => return Ok(()),
            PtrKind::MapValue { .. } => "value ",
            PtrKind::MapKey { .. } => "key ",
            PtrKind::Ctx => "context ",
            _ => "",
        };
        let at = p
            .var
            .var_off
            .add(Tnum::constant((p.off as i64 + off as i64) as u64));
        if (at.value() | at.mask()) & (size as u64 - 1) == 0 {
            return Ok(());
        }
        let var = match p.var.as_const() {
            Some(v) => (v as i64).to_string(),
            None => p.var.var_off.to_string(),
        };
        let msg = format!(
            "misaligned {desc}access off {var}+{}+{off} size {size}",
            p.off
        );
        Err(self.fail(EACCES, msg))
    }

    /// `check_mem_access`: check an access of `size` bytes at `reg + off`;
    /// for a read returns what was read (a pointer from a spill, a packet
    /// pointer from the context), for a write stores `val` (with whether it
    /// came from an immediate).
    pub(crate) fn mem_access(
        &mut self,
        st: &mut State,
        reg: Reg,
        off: i32,
        size: u32,
        t: Access,
        val: Option<(RegState, bool)>,
    ) -> Result<Option<RegState>, Fail> {
        let regno = reg.n();
        let ptr = match st.cur().reg(reg) {
            RegState::Ptr(p) => p.clone(),
            r => {
                let msg = format!("R{regno} invalid mem access '{}'", r.type_name());
                return Err(self.fail(EACCES, msg));
            }
        };
        self.note_ctx_use(matches!(ptr.kind, PtrKind::Ctx))?;
        self.note_btf_use(matches!(ptr.kind, PtrKind::BtfId { .. }))?;
        match ptr.kind {
            PtrKind::Stack { frame } => self.stack_access(st, reg, &ptr, frame, off, size, t, val),
            PtrKind::Ctx => self.ctx_access(&ptr, regno, off, size, t),
            PtrKind::BtfId { .. } if !ptr.kind.maybe_null() => {
                self.btf_ptr_access(&ptr, regno, off, size, t)
            }
            PtrKind::UntrustedMem => self.untrusted_mem_access(regno, t),
            PtrKind::MapValue { null: false, map } => {
                self.map_value_access(&ptr, regno, map, off, size, t)?;
                // Read-only configuration maps give constants.
                let at = ptr
                    .var
                    .as_const()
                    .map(|v| v as i64 + ptr.off as i64 + off as i64);
                let known = match (t, at) {
                    (Access::Read, Some(at)) => self.maps[map as usize].rdonly_const(at, size),
                    _ => None,
                };
                Ok(known.map(|v| RegState::scalar(Scalar::constant(v))))
            }
            PtrKind::MapKey { map } => {
                let ks = self.maps[map as usize].key_size;
                if t == Access::Write {
                    return Err(
                        self.fail(EACCES, format!("write to change key R{regno} not allowed"))
                    );
                }
                self.region_access(&ptr, regno, off, size, ks, "map key", "key_size")?;
                Ok(None)
            }
            PtrKind::Packet { .. } | PtrKind::PacketMeta { .. } => {
                if t == Access::Write && !self.may_write_packet() {
                    return Err(self.fail(EACCES, "cannot write into packet".into()));
                }
                self.packet_access(&ptr, regno, off, size)?;
                Ok(None)
            }
            PtrKind::Mem {
                size: msize,
                rdonly,
                null: false,
                ..
            } => {
                if t == Access::Write && rdonly {
                    let msg = format!("R{regno} cannot write into {}", ptr.kind.name());
                    return Err(self.fail(EACCES, msg));
                }
                self.region_access(&ptr, regno, off, size, msize, "memory", "mem_size")?;
                Ok(None)
            }
            _ => {
                let msg = format!("R{regno} invalid mem access '{}'", ptr.kind.name());
                Err(self.fail(EACCES, msg))
            }
        }
    }

    /// Likewise for kernel objects (`PTR_TO_BTF_ID` is one of the types
    /// `reg_type_mismatch_ok` refuses to mix): their loads are probe loads.
    fn note_btf_use(&mut self, is_btf: bool) -> Result<(), Fail> {
        let aux = &mut self.aux[self.pc];
        match aux.btf_access {
            None => aux.btf_access = Some(is_btf),
            Some(prev) if prev != is_btf => {
                return Err(self.fail(
                    EINVAL,
                    "same insn cannot be used with different pointers".into(),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// One instruction may not access the context on one path and other
    /// memory on another: the rewrite would be wrong for one of them.
    fn note_ctx_use(&mut self, is_ctx: bool) -> Result<(), Fail> {
        let aux = &mut self.aux[self.pc];
        match aux.ctx_access {
            None => aux.ctx_access = Some(is_ctx),
            Some(prev) if prev != is_ctx => {
                return Err(self.fail(
                    EINVAL,
                    "same insn cannot be used with different pointers".into(),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    fn may_write_packet(&self) -> bool {
        use uapi::ProgType::*;
        matches!(
            self.prog_type,
            SchedCls | SchedAct | Xdp | LwtXmit | SkSkb | SkMsg
        )
    }

    fn map_value_access(
        &mut self,
        ptr: &Ptr,
        regno: u8,
        map: u32,
        off: i32,
        size: u32,
        t: Access,
    ) -> Result<(), Fail> {
        let m = self.maps[map as usize].clone();
        if t == Access::Write && m.rdonly_prog() {
            let msg = format!(
                "write into map forbidden, value_size={} off={} size={}",
                m.value_size,
                ptr.off + off,
                size
            );
            return Err(self.fail(EACCES, msg));
        }
        if t == Access::Read && m.wronly_prog() {
            let msg = format!(
                "read from map forbidden, value_size={} off={} size={}",
                m.value_size,
                ptr.off + off,
                size
            );
            return Err(self.fail(EACCES, msg));
        }
        self.region_access(
            ptr,
            regno,
            off,
            size,
            m.value_size,
            "map value",
            "value_size",
        )?;
        if let Some(lock) = m.spin_lock_off {
            let lo = ptr.off as i64 + off as i64 + ptr.var.s64.min;
            let hi = ptr.off as i64 + off as i64 + ptr.var.u64.max as i64 + size as i64;
            if lo < lock as i64 + 4 && (lock as i64) < hi {
                let msg = "bpf_spin_lock cannot be accessed directly by load/store".into();
                return Err(self.fail(EACCES, msg));
            }
        }
        if let Some(timer) = m.timer_off {
            let lo = ptr.off as i64 + off as i64 + ptr.var.s64.min;
            let hi = ptr.off as i64 + off as i64 + ptr.var.u64.max as i64 + size as i64;
            // `struct bpf_timer` is 16 bytes.
            if lo < timer as i64 + 16 && (timer as i64) < hi {
                let msg = "bpf_timer cannot be accessed directly by load/store".into();
                return Err(self.fail(EACCES, msg));
            }
        }
        Ok(())
    }

    /// `check_mem_region_access`: the fixed and variable offset together
    /// stay in `[0, mem_size)`.
    #[allow(clippy::too_many_arguments)]
    fn region_access(
        &mut self,
        ptr: &Ptr,
        regno: u8,
        off: i32,
        size: u32,
        mem_size: u32,
        what: &str,
        size_name: &str,
    ) -> Result<(), Fail> {
        let off = ptr.off as i64 + off as i64;
        let v = &ptr.var;
        if v.s64.min < 0
            && (v.s64.min == i64::MIN
                || off + v.s64.min < 0
                || (off + v.s64.min) != (off + v.s64.min) as i32 as i64)
        {
            let msg = format!(
                "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
            );
            return Err(self.fail(EACCES, msg));
        }
        let lo = off + v.s64.min;
        if let Err(m) = bounds(lo, size, mem_size, what, size_name) {
            let msg = format!("{m}\nR{regno} min value is outside of the allowed memory range");
            return Err(self.fail(EACCES, msg));
        }
        if v.u64.max >= MAX_VAR_OFF as u64 {
            let msg = format!(
                "R{regno} unbounded memory access, make sure to bounds check any such access"
            );
            return Err(self.fail(EACCES, msg));
        }
        let hi = off + v.u64.max as i64;
        if let Err(m) = bounds(hi, size, mem_size, what, size_name) {
            let msg = format!("{m}\nR{regno} max value is outside of the allowed memory range");
            return Err(self.fail(EACCES, msg));
        }
        Ok(())
    }

    /// `check_packet_access`: within the range a comparison with
    /// `data_end` proved.
    pub(crate) fn packet_access(
        &mut self,
        ptr: &Ptr,
        regno: u8,
        off: i32,
        size: u32,
    ) -> Result<(), Fail> {
        if ptr.var.s64.min < 0 {
            let msg = format!(
                "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
            );
            return Err(self.fail(EACCES, msg));
        }
        let range = match ptr.kind {
            PtrKind::Packet { range } | PtrKind::PacketMeta { range } => range,
            _ => 0,
        };
        let off = ptr.off as i64 + off as i64;
        if off < 0 || off + size as i64 > range as i64 {
            let msg = format!(
                "invalid access to packet, off={off} size={size}, R{regno}(id={},off={off},r={range})\nR{regno} offset is outside of the packet",
                ptr.id
            );
            return Err(self.fail(EACCES, msg));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn stack_access(
        &mut self,
        st: &mut State,
        reg: Reg,
        ptr: &Ptr,
        frame: u32,
        off: i32,
        size: u32,
        t: Access,
        val: Option<(RegState, bool)>,
    ) -> Result<Option<RegState>, Fail> {
        let regno = reg.n();
        let Some(c) = ptr.var.as_const() else {
            return self
                .stack_var_access(st, ptr, regno, frame, off, size, t)
                .map(|_| None);
        };
        let abs = c as i64 + ptr.off as i64 + off as i64;
        if abs % size as i64 != 0 {
            let var = match ptr.var.as_const() {
                Some(v) => (v as i64).to_string(),
                None => ptr.var.var_off.to_string(),
            };
            let msg = format!(
                "misaligned stack access off {var}+{}+{off} size {size}",
                ptr.off
            );
            return Err(self.fail(EACCES, msg));
        }
        self.stack_bounds(abs, size, regno, t, None)?;
        let fi = frame as usize;
        if fi >= st.frames.len() {
            return Err(Fail::internal("stack pointer to a dead frame".into()));
        }
        self.note_stack_depth(st, fi, abs);
        if fi + 1 == st.frames.len() {
            self.log.scratch_slot(locate(abs).0);
        }
        match t {
            Access::Write => {
                let (v, imm) = val.unwrap_or((RegState::unknown(), false));
                if let RegState::Ptr(p) = &v {
                    if matches!(p.kind, PtrKind::Stack { frame: f } if f > frame) {
                        let msg =
                            "cannot spill pointers to stack into stack frame of the caller".into();
                        return Err(self.fail(EINVAL, msg));
                    }
                }
                self.stack_write(st, fi, abs, size, v, imm)?;
                Ok(None)
            }
            Access::Read => self.stack_read(st, fi, abs, size).map(Some),
        }
    }

    fn note_stack_depth(&mut self, st: &State, fi: usize, lowest: i64) {
        let sub = st.frames[fi].subprog;
        let d = (-lowest) as usize;
        if let Some(x) = self.stack_depth.get_mut(sub) {
            *x = (*x).max(d);
        }
    }

    /// The access `[abs, abs+size)` lies in `[-512, 0)`.
    pub(crate) fn stack_bounds(
        &mut self,
        abs: i64,
        size: u32,
        regno: u8,
        t: Access,
        var: Option<&Tnum>,
    ) -> Result<(), Fail> {
        if abs >= -(uapi::MAX_BPF_STACK as i64) && abs + size as i64 <= 0 && size > 0 {
            return Ok(());
        }
        let what = match t {
            Access::Read => "read from",
            Access::Write => "write to",
        };
        let msg = match var {
            None => format!("invalid {what} stack R{regno} off={abs} size={size}"),
            Some(tn) => format!(
                "invalid variable-offset {what} stack R{regno} var_off={tn} off={abs} size={size}"
            ),
        };
        Err(self.fail(EACCES, msg))
    }

    /// `check_stack_write_fixed_off`.
    fn stack_write(
        &mut self,
        st: &mut State,
        fi: usize,
        abs: i64,
        size: u32,
        v: RegState,
        imm: bool,
    ) -> Result<(), Fail> {
        let aligned = abs % 8 == 0;
        let stack = &mut st.frames[fi].stack;
        stack.grow(abs);
        let spill = match &v {
            RegState::Scalar(_) => aligned,
            RegState::Ptr(_) => {
                if size != 8 {
                    return Err(self.fail(EACCES, "invalid size of register spill".into()));
                }
                true
            }
            RegState::NotInit => false,
        };
        let _ = imm;
        let slot = stack.slot_mut(abs);
        if spill {
            let mut v = v;
            if let RegState::Scalar(s) = &mut v {
                if size < 8 {
                    s.val.truncate(size);
                    s.id = 0;
                }
            }
            for i in 0..8 {
                slot.bytes[i] = if i >= 8 - size as usize {
                    ByteKind::Spill
                } else if slot.bytes[i] == ByteKind::Zero {
                    ByteKind::Zero
                } else if slot.bytes[i] == ByteKind::Invalid {
                    ByteKind::Invalid
                } else {
                    ByteKind::Misc
                };
            }
            slot.spilled = v;
            return Ok(());
        }
        let kind = if v.is_null_const() {
            ByteKind::Zero
        } else {
            ByteKind::Misc
        };
        slot.scrub();
        let (_, first) = locate(abs);
        for i in 0..size as usize {
            slot.bytes[first - i] = kind;
        }
        Ok(())
    }

    /// `check_stack_read_fixed_off`.
    fn stack_read(
        &mut self,
        st: &mut State,
        fi: usize,
        abs: i64,
        size: u32,
    ) -> Result<RegState, Fail> {
        let stack = &st.frames[fi].stack;
        let empty = crate::state::Slot::default();
        let slot = stack.slot(abs).unwrap_or(&empty).clone();
        let (_, first) = locate(abs);
        if slot.is_spill() {
            if size == 8 && slot.spill_size() == 8 {
                return Ok(slot.spilled.clone());
            }
            if !matches!(slot.spilled, RegState::Scalar(_)) {
                return Err(self.fail(EACCES, "invalid size of register fill".into()));
            }
            // A narrow read of a spilled constant gets its bytes.
            if let (8, Some(c)) = (
                slot.spill_size(),
                slot.spilled.as_scalar().and_then(|v| v.as_const()),
            ) {
                let shift = (7 - first) * 8;
                let v = c >> shift;
                let v = if size >= 8 {
                    v
                } else {
                    v & ((1u64 << (size * 8)) - 1)
                };
                return Ok(RegState::scalar(Scalar::constant(v)));
            }
            if abs % 8 == 0 && size as usize == slot.spill_size() {
                return Ok(slot.spilled.clone());
            }
        }
        let mut all_zero = true;
        for i in 0..size as usize {
            match slot.bytes[first - i] {
                ByteKind::Zero => {}
                ByteKind::Misc | ByteKind::Spill => all_zero = false,
                ByteKind::Invalid if self.opts.allow_uninit_stack => all_zero = false,
                ByteKind::Invalid => {
                    let msg = format!("invalid read from stack off {}+{} size {}", abs, i, size);
                    return Err(self.fail(EACCES, msg));
                }
            }
        }
        Ok(if all_zero {
            RegState::scalar(Scalar::constant(0))
        } else {
            RegState::unknown()
        })
    }

    /// A stack access through a pointer with a variable offset: every byte
    /// it may touch must be in bounds; a read needs all of them initialised,
    /// a write makes them data.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn stack_var_access(
        &mut self,
        st: &mut State,
        ptr: &Ptr,
        regno: u8,
        frame: u32,
        off: i32,
        size: u32,
        t: Access,
    ) -> Result<(), Fail> {
        let base = ptr.off as i64 + off as i64;
        let lo = base + ptr.var.s64.min;
        let hi = base + ptr.var.s64.max;
        if ptr.var.s64.max >= MAX_VAR_OFF || ptr.var.s64.min <= -MAX_VAR_OFF {
            let msg = format!(
                "invalid unbounded variable-offset {} stack R{regno}",
                if t == Access::Read {
                    "read from"
                } else {
                    "write to"
                }
            );
            return Err(self.fail(EACCES, msg));
        }
        if lo < -(uapi::MAX_BPF_STACK as i64) || hi + size as i64 > 0 || size == 0 {
            let what = if t == Access::Read {
                "read from"
            } else {
                "write to"
            };
            let msg = format!(
                "invalid variable-offset {what} stack R{regno} var_off={} off={base} size={size}",
                ptr.var.var_off
            );
            return Err(self.fail(EACCES, msg));
        }
        let fi = frame as usize;
        self.note_stack_depth(st, fi, lo);
        match t {
            Access::Read => {
                for a in lo..hi + size as i64 {
                    if st.frames[fi].stack.byte(a) == ByteKind::Invalid
                        && !self.opts.allow_uninit_stack
                    {
                        let msg = format!(
                            "invalid variable-offset read from stack R{regno} var_off={} off={} size={}",
                            ptr.var.var_off, base, size
                        );
                        return Err(self.fail(EACCES, msg));
                    }
                }
            }
            Access::Write => {
                let uninit_ok = self.opts.allow_uninit_stack;
                // Bytes that every possible write covers.
                let always = hi..lo + size as i64;
                let stack = &mut st.frames[fi].stack;
                for a in lo..hi + size as i64 {
                    let slot = stack.slot_mut(a);
                    slot.scrub();
                    let (_, i) = locate(a);
                    // A byte only some of the possible writes reach stays
                    // uninitialised if it was: marking it written let a
                    // later read of a slot the write missed through (found
                    // by the soundness fuzzer). The kernel refuses such
                    // writes to loaders that may not read uninitialised
                    // stack ("uninit stack in range of var-offset write
                    // prohibited for !root"); root may read it anyway.
                    if uninit_ok || slot.bytes[i] != ByteKind::Invalid || always.contains(&a) {
                        slot.bytes[i] = ByteKind::Misc;
                    }
                }
            }
        }
        Ok(())
    }

    /// Legacy packet loads (`BPF_LD | BPF_ABS/IND`): socket filters and tc
    /// programs only (`may_access_skb`), `r6` the context, no references
    /// held.
    pub(super) fn check_ld_abs(
        &mut self,
        st: &mut State,
        mode: PacketMode,
        size: Size,
    ) -> Result<(), Fail> {
        use uapi::ProgType::*;
        if !matches!(self.prog_type, SocketFilter | SchedCls | SchedAct) {
            let msg = "BPF_LD_[ABS|IND] instructions not allowed for this program type".into();
            return Err(self.fail(EINVAL, msg));
        }
        if !st.refs.is_empty() {
            let msg = "BPF_LD_[ABS|IND] cannot be mixed with socket references".into();
            return Err(self.fail(EINVAL, msg));
        }
        if st.lock.is_some() {
            let msg = "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region".into();
            return Err(self.fail(EINVAL, msg));
        }
        self.read_reg(st, Reg::R6)?;
        if let PacketMode::Ind(r) = mode {
            self.read_reg(st, r)?;
        }
        if !matches!(st.cur().reg(Reg::R6), RegState::Ptr(p) if p.kind == PtrKind::Ctx) {
            let msg = "at the time of BPF_LD_ABS|IND R6 != pointer to skb".into();
            return Err(self.fail(EINVAL, msg));
        }
        let f = st.cur_mut();
        for r in 1..=5 {
            f.regs[r] = RegState::NotInit;
        }
        let mut v = Scalar::UNKNOWN;
        v.truncate(size.bytes());
        f.regs[0] = RegState::scalar(v);
        self.log.scratch_reg(0);
        Ok(())
    }
}

/// `__check_mem_access` for a fixed offset.
fn bounds(off: i64, size: u32, mem_size: u32, what: &str, size_name: &str) -> Result<(), String> {
    if off < 0 || off + size as i64 > mem_size as i64 {
        return Err(format!(
            "invalid access to {what}, {size_name}={mem_size} off={off} size={size}"
        ));
    }
    Ok(())
}

impl Env {
    /// A context access: only through the unmodified context pointer, at an
    /// offset and size the program type allows; recorded for the rewrite.
    fn ctx_access(
        &mut self,
        ptr: &Ptr,
        regno: u8,
        off: i32,
        size: u32,
        t: Access,
    ) -> Result<Option<RegState>, Fail> {
        if ptr.off != 0 {
            let msg = format!(
                "dereference of modified ctx ptr R{regno} off={} disallowed",
                ptr.off
            );
            return Err(self.fail(EACCES, msg));
        }
        if ptr.var.as_const() != Some(0) {
            let msg = format!("variable ctx access var_off={} disallowed", ptr.var.var_off);
            return Err(self.fail(EACCES, msg));
        }
        if self.prog_type == uapi::ProgType::Tracing {
            return self.tracing_ctx_access(off, size, t);
        }
        let acc = crate::ctx::access(
            self.prog_type,
            self.attach,
            off as i64,
            size,
            t == Access::Write,
        );
        let Some(acc) = acc else {
            let msg = format!("invalid bpf_context access off={off} size={size}");
            return Err(self.fail(EACCES, msg));
        };
        self.aux[self.pc].ctx_rewrite = acc.rewrite;
        Ok(Some(match acc.ptr {
            Some(kind) if t == Access::Read => RegState::ptr(kind),
            _ => RegState::unknown(),
        }))
    }
}
