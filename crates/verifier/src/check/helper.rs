//! Helper calls: every argument against the prototype in
//! [`uapi::proto`], map/helper compatibility, references, spin locks, and
//! the returned value.

use super::mem::Access;
use super::{Env, Flow};
use crate::error::*;
use crate::input::MapIdx;
use crate::state::{LockState, Ptr, PtrKind, RefState, RegState, State};
use isa::Reg;
use uapi::helpers::id;
use uapi::proto::{self, ArgType, RetType};
use uapi::MapType;

/// What `check_reg_type` lists for memory arguments.
const MEM_TYPES: &str =
    "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_";

/// Largest size argument (`BPF_MAX_VAR_SIZ`).
const MAX_VAR_SIZ: u64 = 1 << 29;

/// What the argument checks learnt for the rest of the call.
#[derive(Default)]
struct Meta {
    map: Option<MapIdx>,
    /// Register of the last memory argument, for its size argument.
    mem_reg: Option<Reg>,
    mem_uninit: bool,
    mem_null_ok: bool,
    alloc_size: Option<u64>,
    release_ref: Option<u32>,
    callback: Option<usize>,
    /// The map argument came from a timer (`ARG_PTR_TO_TIMER`).
    timer: bool,
    /// The key argument's value, when the stack holds a known constant
    /// (`get_constant_map_key`).
    const_key: Option<u64>,
    /// A lookup that cannot fail: r0 is not null.
    non_null: bool,
}

fn helper_name(hid: i32) -> String {
    let name = uapi::HelperId(hid as u32).name().unwrap_or("unknown");
    format!("bpf_{name}#{hid}")
}

impl Env {
    pub(super) fn check_helper_call(
        &mut self,
        st: &mut State,
        hid: i32,
        pc: usize,
    ) -> Result<Flow, Fail> {
        let custom = self
            .custom_helpers
            .iter()
            .find(|p| hid >= 0 && p.id == hid as u32)
            .copied();
        let known = hid >= 0 && (hid as usize) < uapi::HelperId::count();
        if !known && custom.is_none() {
            return Err(self.fail(EINVAL, format!("invalid func unknown#{hid}")));
        }
        let Some(pr) = custom.or_else(|| {
            proto::proto(hid as u32)
                .filter(|_| proto::allowed_for(self.prog_type, self.attach, hid as u32))
                .copied()
        }) else {
            let msg = format!(
                "program of this type cannot use helper {}",
                helper_name(hid)
            );
            return Err(self.fail(EINVAL, msg));
        };
        if proto::might_sleep(hid as u32) && self.prog_type != uapi::ProgType::Syscall {
            return Err(self.fail(
                EINVAL,
                "helper call might sleep in a non-sleepable prog".into(),
            ));
        }
        if st.lock.is_some() && hid as u32 != id::SPIN_UNLOCK {
            return Err(self.fail(
                EINVAL,
                "function calls are not allowed while holding a lock".into(),
            ));
        }
        self.used_helpers.insert(hid as u32);
        let mut meta = Meta::default();
        for (i, &arg) in pr.args.iter().enumerate() {
            if arg == ArgType::None {
                break;
            }
            let r = Reg::new(i as u8 + 1).ok_or_else(|| Fail::internal("arg reg".into()))?;
            self.check_arg(st, r, arg, &mut meta)?;
        }
        self.check_map_compat(hid, meta.map)?;
        // Linux 6.13+: looking up a constant, in-range key of an array
        // cannot fail, so the value is not null.
        if let (id::MAP_LOOKUP_ELEM, Some(map), Some(key)) = (hid as u32, meta.map, meta.const_key)
        {
            let m = &self.maps[map as usize];
            meta.non_null = matches!(m.map_type, MapType::Array | MapType::PercpuArray)
                && key < m.max_entries as u64;
        }
        self.helper_effects(st, hid, pr.ret, &meta, pc)
    }

    /// The effects of the call once the arguments are good.
    fn helper_effects(
        &mut self,
        st: &mut State,
        hid: i32,
        ret: RetType,
        meta: &Meta,
        pc: usize,
    ) -> Result<Flow, Fail> {
        match hid as u32 {
            id::TAIL_CALL if !st.refs.is_empty() => {
                let mut msg = String::new();
                for r in &st.refs {
                    msg.push_str(&format!(
                        "Unreleased reference id={} alloc_insn={}\n",
                        r.id, r.insn
                    ));
                }
                msg.push_str("tail_call would lead to reference leak");
                return Err(self.fail(EINVAL, msg));
            }
            id::SPIN_LOCK => self.spin_lock(st, true)?,
            id::SPIN_UNLOCK => self.spin_lock(st, false)?,
            id::LOOP | id::FOR_EACH_MAP_ELEM => {
                let sub = meta
                    .callback
                    .ok_or_else(|| Fail::internal("callback helper without callback".into()))?;
                let map = if hid as u32 == id::LOOP {
                    None
                } else {
                    meta.map
                };
                return self.loop_callback(st, sub, pc, map);
            }
            id::TIMER_SET_CALLBACK => {
                let sub = meta
                    .callback
                    .ok_or_else(|| Fail::internal("timer callback without callback".into()))?;
                let map = meta
                    .map
                    .ok_or_else(|| Fail::internal("timer callback without map".into()))?;
                return self.async_callback(st, sub, pc, map);
            }
            _ => {}
        }
        let changes_pkt_data = self
            .custom_helpers
            .iter()
            .find(|p| p.id == hid as u32)
            .map_or_else(
                || proto::proto(hid as u32).is_some_and(|p| p.changes_pkt_data),
                |p| p.changes_pkt_data,
            );
        invalidate(st, changes_pkt_data, meta);
        let r0 = self.ret_value(st, ret, meta, pc)?;
        self.clobber_caller_saved(st, r0);
        Ok(Flow::Next(pc + 1))
    }

    /// What `r0` holds after the call; acquires the reference of a ring
    /// buffer reservation.
    fn ret_value(
        &mut self,
        st: &mut State,
        ret: RetType,
        meta: &Meta,
        pc: usize,
    ) -> Result<RegState, Fail> {
        Ok(match ret {
            RetType::Integer => RegState::unknown(),
            RetType::Void => RegState::NotInit,
            RetType::MapValueOrNull => {
                let map = meta
                    .map
                    .ok_or_else(|| Fail::internal("lookup without map".into()))?;
                if meta.non_null {
                    // No id: nothing to null-check.
                    return Ok(RegState::ptr(PtrKind::MapValue { map, null: false }));
                }
                let idnew = self.new_id();
                let kind = match self.inner_map(map) {
                    Some(inner) => PtrKind::MapPtr {
                        map: inner,
                        null: true,
                    },
                    None => PtrKind::MapValue { map, null: true },
                };
                let mut p = Ptr::new(kind);
                p.id = idnew;
                RegState::Ptr(p)
            }
            RetType::BtfId { name } => {
                let id = match self.struct_ids.iter().find(|(n, _)| *n == name) {
                    Some(&(_, id)) => id,
                    None => {
                        let id = self
                            .vmlinux
                            .and_then(|b| b.find_by_name(btf::Kind::Struct, name));
                        self.struct_ids.push((name, id));
                        id
                    }
                };
                let Some(id) = id else {
                    let msg =
                        format!("the kernel's BTF (Request::btf) is needed for struct {name}");
                    return Err(self.fail(EINVAL, msg));
                };
                RegState::ptr(PtrKind::BtfId {
                    id,
                    flags: crate::ctx::btf::TRUSTED,
                })
            }
            RetType::RingbufMemOrNull => {
                let size = meta
                    .alloc_size
                    .ok_or_else(|| Fail::internal("reserve without size".into()))?;
                // The kernel numbers the maybe-null id first, then the
                // reference, and keeps the reference's number as the id.
                let _ = self.new_id();
                let rid = self.new_id();
                let idnew = rid;
                st.refs.push(RefState { id: rid, insn: pc });
                let mut p = Ptr::new(PtrKind::Mem {
                    size: size as u32,
                    rdonly: false,
                    ringbuf: true,
                    null: true,
                });
                p.id = idnew;
                p.ref_obj_id = rid;
                RegState::Ptr(p)
            }
        })
    }

    /// The inner map template of a map-in-map, appended to the map table on
    /// first use.
    fn inner_map(&mut self, map: MapIdx) -> Option<MapIdx> {
        let inner = self.maps[map as usize].inner.as_deref()?.clone();
        if let Some(i) = self.maps.iter().position(|m| *m == inner) {
            return Some(i as MapIdx);
        }
        self.maps.push(inner);
        Some((self.maps.len() - 1) as MapIdx)
    }

    /// `check_reg_type`'s message.
    fn type_mismatch(&mut self, r: Reg, got: &RegState, expected: &str) -> Fail {
        let msg = format!("R{} type={} expected={expected}", r.n(), got.type_name());
        self.fail(EACCES, msg)
    }

    fn check_arg(
        &mut self,
        st: &mut State,
        r: Reg,
        arg: ArgType,
        meta: &mut Meta,
    ) -> Result<(), Fail> {
        self.read_reg(st, r)?;
        let reg = st.cur().reg(r).clone();
        match arg {
            ArgType::None | ArgType::Anything => Ok(()),
            ArgType::ConstMapPtr => match reg.as_ptr().map(|p| p.kind) {
                Some(PtrKind::MapPtr { map, null: false }) => {
                    if meta.timer && meta.map != Some(map) {
                        let msg = format!(
                            "timer pointer in R1 map_uid=0 doesn't match map pointer in R{} map_uid=0",
                            r.n()
                        );
                        return Err(self.fail(EINVAL, msg));
                    }
                    meta.map = Some(map);
                    Ok(())
                }
                _ => Err(self.type_mismatch(r, &reg, "map_ptr")),
            },
            ArgType::MapKey | ArgType::MapValue | ArgType::UninitMapValue => {
                self.check_map_mem_arg(st, r, &reg, arg, meta)?;
                if arg == ArgType::MapKey {
                    let ks = meta.map.map_or(0, |m| self.maps[m as usize].key_size);
                    meta.const_key = const_map_key(st, &reg, ks);
                }
                Ok(())
            }
            ArgType::Mem { null, uninit, .. } => self.check_mem_arg(r, &reg, null, uninit, meta),
            ArgType::ConstSize { zero_ok } => self.check_size_arg(st, r, &reg, zero_ok, meta),
            ArgType::ConstAllocSize => {
                let Some(c) = reg.as_scalar().and_then(|s| s.as_const()) else {
                    let msg = format!("R{} is not a known constant'", r.n());
                    return Err(self.fail(EACCES, msg));
                };
                meta.alloc_size = Some(c);
                Ok(())
            }
            ArgType::Ctx => self.check_ctx_arg(r, &reg),
            ArgType::StackOrNull => {
                let stack =
                    matches!(reg.as_ptr(), Some(p) if matches!(p.kind, PtrKind::Stack { .. }));
                if reg.is_null_const() || stack {
                    Ok(())
                } else {
                    Err(self.type_mismatch(r, &reg, "fp"))
                }
            }
            ArgType::RingbufMem => self.check_release_arg(r, &reg, meta),
            ArgType::Func => match reg.as_ptr().map(|p| p.kind) {
                Some(PtrKind::Func { subprog }) => {
                    meta.callback = Some(subprog as usize);
                    Ok(())
                }
                _ => Err(self.type_mismatch(r, &reg, "func")),
            },
            ArgType::SpinLock => self.check_spin_lock_arg(r, &reg),
            ArgType::ConstStr => self.check_const_str(st, r, &reg),
            ArgType::BtfId { name } => self.check_btf_id_arg(r, &reg, name),
            ArgType::Timer => {
                let map = self.check_timer_arg(r, &reg)?;
                meta.map = Some(map);
                meta.timer = true;
                Ok(())
            }
        }
    }

    /// A key or value of the map argument: readable (or, for an
    /// uninitialised value, writable) for the map's key or value size.
    fn check_map_mem_arg(
        &mut self,
        st: &mut State,
        r: Reg,
        reg: &RegState,
        arg: ArgType,
        meta: &Meta,
    ) -> Result<(), Fail> {
        let Some(map) = meta.map else {
            return Err(self.fail(EACCES, "invalid map_ptr to access map->key".into()));
        };
        if !is_mem_ptr(reg) {
            return Err(self.type_mismatch(r, reg, MEM_TYPES));
        }
        let m = &self.maps[map as usize];
        if arg == ArgType::MapValue && matches!(m.map_type, MapType::Sockmap | MapType::Sockhash) {
            // The value stored into a socket map is a socket, which oxbpf
            // does not model.
            return Err(self.type_mismatch(
                r,
                reg,
                "sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_",
            ));
        }
        let (size, t) = match arg {
            ArgType::MapKey => (m.key_size, Access::Read),
            ArgType::MapValue => (m.value_size, Access::Read),
            _ => (m.value_size, Access::Write),
        };
        self.helper_mem_access(st, r, size as u64, t, false)
    }

    /// A memory argument; checked once its size argument is known.
    fn check_mem_arg(
        &mut self,
        r: Reg,
        reg: &RegState,
        null: bool,
        uninit: bool,
        meta: &mut Meta,
    ) -> Result<(), Fail> {
        meta.mem_reg = Some(r);
        meta.mem_null_ok = null && reg.is_null_const();
        if meta.mem_null_ok {
            return Ok(());
        }
        if !is_mem_ptr(reg) {
            return Err(self.type_mismatch(r, reg, MEM_TYPES));
        }
        meta.mem_uninit = uninit;
        Ok(())
    }

    /// The unmodified context pointer.
    fn check_ctx_arg(&mut self, r: Reg, reg: &RegState) -> Result<(), Fail> {
        match reg.as_ptr() {
            Some(p) if p.kind == PtrKind::Ctx => {
                if p.off != 0 {
                    let msg = format!(
                        "dereference of modified ctx ptr R{} off={} disallowed",
                        r.n(),
                        p.off
                    );
                    return Err(self.fail(EACCES, msg));
                }
                Ok(())
            }
            _ => Err(self.type_mismatch(r, reg, "ctx")),
        }
    }

    fn check_release_arg(&mut self, r: Reg, reg: &RegState, meta: &mut Meta) -> Result<(), Fail> {
        match reg.as_ptr() {
            Some(p)
                if matches!(
                    p.kind,
                    PtrKind::Mem {
                        ringbuf: true,
                        null: false,
                        ..
                    }
                ) =>
            {
                if p.off != 0 || p.var.as_const() != Some(0) {
                    let msg = format!(
                        "R{} must have zero offset when passed to release func or trusted arg to kfunc",
                        r.n()
                    );
                    return Err(self.fail(EACCES, msg));
                }
                if p.ref_obj_id == 0 {
                    let msg = format!(
                        "R{} must be referenced when passed to release function",
                        r.n()
                    );
                    return Err(self.fail(EINVAL, msg));
                }
                meta.release_ref = Some(p.ref_obj_id);
                Ok(())
            }
            _ => Err(self.type_mismatch(r, reg, "ringbuf_mem")),
        }
    }

    /// `check_mem_size_reg`: a bounded, non-negative size, then the memory
    /// argument before it is checked for that many bytes.
    fn check_size_arg(
        &mut self,
        st: &mut State,
        r: Reg,
        reg: &RegState,
        zero_ok: bool,
        meta: &Meta,
    ) -> Result<(), Fail> {
        let Some(s) = reg.as_scalar().copied() else {
            return Err(self.type_mismatch(r, reg, "scalar"));
        };
        let n = r.n();
        if s.s64.min < 0 {
            let msg = format!("R{n} min value is negative, either use unsigned or 'var &= const'");
            return Err(self.fail(EACCES, msg));
        }
        if meta.mem_null_ok {
            if s.u64.max != 0 {
                let msg = format!("R{n} must be 0 when the memory argument is NULL");
                return Err(self.fail(EACCES, msg));
            }
            return Ok(());
        }
        if s.u64.min == 0 && !zero_ok {
            let msg = format!(
                "R{n} invalid zero-sized read: u64=[{},{}]",
                s.u64.min, s.u64.max
            );
            return Err(self.fail(EACCES, msg));
        }
        if s.u64.max >= MAX_VAR_SIZ {
            let msg =
                format!("R{n} unbounded memory access, use 'var &= const' or 'if (var < const)'");
            return Err(self.fail(EACCES, msg));
        }
        let mem = meta
            .mem_reg
            .ok_or_else(|| Fail::internal("size without memory arg".into()))?;
        let t = if meta.mem_uninit {
            Access::Write
        } else {
            Access::Read
        };
        self.helper_mem_access(st, mem, s.u64.max, t, zero_ok)
    }

    /// `check_helper_mem_access`: `size` bytes at the pointer in `r`.
    pub(super) fn helper_mem_access(
        &mut self,
        st: &mut State,
        r: Reg,
        size: u64,
        t: Access,
        zero_ok: bool,
    ) -> Result<(), Fail> {
        if size == 0 {
            if zero_ok {
                return Ok(());
            }
            return Err(self.fail(EACCES, "invalid zero-sized read".into()));
        }
        let reg = st.cur().reg(r).clone();
        let Some(p) = reg.as_ptr() else {
            return Err(Fail::internal("helper memory arg is not a pointer".into()));
        };
        let size = size as u32;
        match p.kind {
            PtrKind::Stack { frame } => self.stack_range(st, r, p, frame, size, t),
            _ => {
                // The other memory kinds are checked as one access.
                let saved = self.aux[self.pc].ctx_access;
                self.aux[self.pc].ctx_access = None;
                let res =
                    self.mem_access(st, r, 0, size.max(1), t, Some((RegState::unknown(), false)));
                self.aux[self.pc].ctx_access = saved;
                res.map(|_| ())
            }
        }
    }

    /// `check_stack_range_initialized`: in bounds, and initialised unless
    /// the helper writes it (then it becomes initialised).
    fn stack_range(
        &mut self,
        st: &mut State,
        r: Reg,
        p: &Ptr,
        frame: u32,
        size: u32,
        t: Access,
    ) -> Result<(), Fail> {
        let n = r.n();
        let Some(c) = p.var.as_const() else {
            return self.stack_var_access(st, p, n, frame, 0, size, t);
        };
        let abs = c as i64 + p.off as i64;
        self.stack_bounds(abs, size, n, t, None)?;
        let fi = frame as usize;
        let sub = st.frames[fi].subprog;
        if let Some(d) = self.stack_depth.get_mut(sub) {
            *d = (*d).max((-abs) as usize);
        }
        let stack = &mut st.frames[fi].stack;
        for i in 0..size as i64 {
            let a = abs + i;
            match t {
                Access::Write => {
                    let slot = stack.slot_mut(a);
                    if slot.is_spill() {
                        slot.scrub();
                    }
                    let (_, b) = crate::state::stack::locate(a);
                    slot.bytes[b] = crate::state::ByteKind::Misc;
                }
                Access::Read => {
                    if stack.byte(a) == crate::state::ByteKind::Invalid
                        && !self.opts.allow_uninit_stack
                    {
                        let msg = format!(
                            "invalid indirect read from stack R{n} off {abs}+{i} size {size}"
                        );
                        return Err(self.fail(EACCES, msg));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_spin_lock_arg(&mut self, r: Reg, reg: &RegState) -> Result<(), Fail> {
        let Some(p) = reg
            .as_ptr()
            .filter(|p| matches!(p.kind, PtrKind::MapValue { null: false, .. }))
        else {
            return Err(self.type_mismatch(r, reg, "map_value, ptr_"));
        };
        let Some(off) = p.var.as_const() else {
            let msg = format!(
                "R{} doesn't have constant offset. bpf_spin_lock has to be at the constant offset",
                r.n()
            );
            return Err(self.fail(EINVAL, msg));
        };
        let map = p.kind.map().unwrap_or(0);
        let m = &self.maps[map as usize];
        let Some(lock) = m.spin_lock_off else {
            let msg = format!("map '{}' has no valid bpf_spin_lock", m.name);
            return Err(self.fail(EINVAL, msg));
        };
        let at = off as i64 + p.off as i64;
        if at != lock as i64 {
            let msg = format!("off {at} doesn't point to 'struct bpf_spin_lock' that is at {lock}");
            return Err(self.fail(EINVAL, msg));
        }
        Ok(())
    }

    /// `process_timer_func`: a map value pointer at the constant offset of
    /// the map's `struct bpf_timer`; gives the map.
    fn check_timer_arg(&mut self, r: Reg, reg: &RegState) -> Result<MapIdx, Fail> {
        let Some(p) = reg
            .as_ptr()
            .filter(|p| matches!(p.kind, PtrKind::MapValue { null: false, .. }))
        else {
            return Err(self.type_mismatch(r, reg, "map_value"));
        };
        let Some(off) = p.var.as_const() else {
            let msg = format!(
                "R{} doesn't have constant offset. bpf_timer has to be at the constant offset",
                r.n()
            );
            return Err(self.fail(EINVAL, msg));
        };
        let map = p.kind.map().unwrap_or(0);
        let m = &self.maps[map as usize];
        let Some(timer) = m.timer_off else {
            let msg = format!("map '{}' has no valid bpf_timer", m.name);
            return Err(self.fail(EINVAL, msg));
        };
        let at = off as i64 + p.off as i64;
        if at != timer as i64 {
            let msg = format!("off {at} doesn't point to 'struct bpf_timer' that is at {timer}");
            return Err(self.fail(EINVAL, msg));
        }
        Ok(map)
    }

    fn spin_lock(&mut self, st: &mut State, lock: bool) -> Result<(), Fail> {
        let p = st.cur().reg(Reg::R1).as_ptr().cloned();
        let Some(p) = p else {
            return Err(Fail::internal("spin lock arg".into()));
        };
        let map = p.kind.map().unwrap_or(0);
        if lock {
            if st.lock.is_some() {
                return Err(self.fail(EINVAL, "Locking two bpf_spin_locks are not allowed".into()));
            }
            st.lock = Some(LockState { map, id: p.id });
        } else {
            match &st.lock {
                None => {
                    return Err(self.fail(EINVAL, "bpf_spin_unlock without taking a lock".into()))
                }
                Some(l) if l.map != map || l.id != p.id => {
                    return Err(self.fail(EINVAL, "bpf_spin_unlock of different lock".into()))
                }
                _ => st.lock = None,
            }
        }
        Ok(())
    }

    /// `ARG_PTR_TO_BTF_ID`: a legacy, trusted or RCU pointer (not
    /// untrusted, not maybe-null) to the struct `want` or one starting
    /// with it.
    fn check_btf_id_arg(&mut self, r: Reg, reg: &RegState, want: &str) -> Result<(), Fail> {
        use crate::ctx::btf::{ids_match, NULL, UNTRUSTED};
        let ok_kind = match reg.as_ptr() {
            Some(p) => match p.kind {
                PtrKind::BtfId { id, flags } if flags & (NULL | UNTRUSTED) == 0 => {
                    Some((p.clone(), id))
                }
                _ => None,
            },
            None => None,
        };
        let Some((p, id)) = ok_kind else {
            return Err(self.type_mismatch(r, reg, "ptr_, trusted_ptr_, rcu_ptr_"));
        };
        let Some(vmlinux) = self.vmlinux else {
            return Err(Fail::internal("BTF pointer without kernel BTF".into()));
        };
        let off = p.fixed_offset().and_then(|o| u32::try_from(o).ok());
        if off.is_some_and(|o| ids_match(vmlinux, id, o, want)) {
            return Ok(());
        }
        let msg = format!(
            "R{} is of type {} but {want} is expected",
            r.n(),
            vmlinux.type_name(id).unwrap_or("")
        );
        Err(self.fail(EACCES, msg))
    }

    /// A constant string: a pointer into a read-only, frozen map value.
    fn check_const_str(&mut self, st: &mut State, r: Reg, reg: &RegState) -> Result<(), Fail> {
        let Some(p) = reg
            .as_ptr()
            .filter(|p| matches!(p.kind, PtrKind::MapValue { null: false, .. }))
        else {
            return Err(self.type_mismatch(r, reg, "map_value"));
        };
        let m = &self.maps[p.kind.map().unwrap_or(0) as usize];
        if !(m.rdonly_prog() && m.frozen) {
            return Err(self.fail(
                EACCES,
                format!("R{} does not point to a readonly map'", r.n()),
            ));
        }
        if p.var.as_const().is_none() {
            return Err(self.fail(EACCES, format!("R{} is not a constant address'", r.n())));
        }
        self.mem_access(st, r, 0, 1, Access::Read, None).map(|_| ())
    }

    /// Helpers that only work with some map types, and map types that only
    /// work with some helpers (`check_map_func_compatibility`).
    fn check_map_compat(&mut self, hid: i32, map: Option<MapIdx>) -> Result<(), Fail> {
        let Some(map) = map else { return Ok(()) };
        let t = self.maps[map as usize].map_type;
        let h = hid as u32;
        if h == id::TAIL_CALL && t != MapType::ProgArray {
            return Err(self.fail(EINVAL, "expected prog array map for tail call".into()));
        }
        let map_ok = match t {
            MapType::ProgArray => h == id::TAIL_CALL,
            MapType::PerfEventArray => matches!(h, id::PERF_EVENT_OUTPUT | id::PERF_EVENT_READ),
            MapType::Ringbuf => matches!(
                h,
                id::RINGBUF_OUTPUT | id::RINGBUF_RESERVE | id::RINGBUF_QUERY
            ),
            MapType::Queue | MapType::Stack => {
                matches!(h, id::MAP_PUSH_ELEM | id::MAP_POP_ELEM | id::MAP_PEEK_ELEM)
            }
            MapType::Devmap | MapType::DevmapHash | MapType::Xskmap => {
                matches!(h, id::REDIRECT_MAP | id::MAP_LOOKUP_ELEM)
            }
            MapType::Cpumap => h == id::REDIRECT_MAP,
            MapType::BloomFilter => matches!(h, id::MAP_PUSH_ELEM | id::MAP_PEEK_ELEM),
            // Lookups yield a socket reference in the kernel, which oxbpf
            // does not model: refused (the kernel accepts them).
            MapType::Sockmap => {
                matches!(
                    h,
                    id::SK_REDIRECT_MAP | id::SOCK_MAP_UPDATE | id::MSG_REDIRECT_MAP
                ) || self.may_update_sockmap(h)
            }
            MapType::Sockhash => {
                matches!(
                    h,
                    id::SK_REDIRECT_HASH | id::SOCK_HASH_UPDATE | id::MSG_REDIRECT_HASH
                ) || self.may_update_sockmap(h)
            }
            _ => true,
        };
        let func_ok = match h {
            id::TAIL_CALL => t == MapType::ProgArray,
            id::PERF_EVENT_OUTPUT | id::PERF_EVENT_READ => t == MapType::PerfEventArray,
            id::RINGBUF_OUTPUT | id::RINGBUF_RESERVE | id::RINGBUF_QUERY => t == MapType::Ringbuf,
            id::MAP_POP_ELEM => matches!(t, MapType::Queue | MapType::Stack),
            id::MAP_PUSH_ELEM | id::MAP_PEEK_ELEM => {
                matches!(t, MapType::Queue | MapType::Stack | MapType::BloomFilter)
            }
            id::REDIRECT_MAP => matches!(
                t,
                MapType::Devmap | MapType::DevmapHash | MapType::Cpumap | MapType::Xskmap
            ),
            id::SK_REDIRECT_MAP | id::MSG_REDIRECT_MAP | id::SOCK_MAP_UPDATE => {
                t == MapType::Sockmap
            }
            id::SK_REDIRECT_HASH | id::MSG_REDIRECT_HASH | id::SOCK_HASH_UPDATE => {
                t == MapType::Sockhash
            }
            _ => true,
        };
        if map_ok && func_ok {
            return Ok(());
        }
        let msg = format!(
            "cannot pass map_type {} into func {}",
            t.id(),
            helper_name(hid)
        );
        Err(self.fail(EINVAL, msg))
    }
}

impl Env {
    /// `may_update_sockmap`: which program types may insert into or delete
    /// from a socket map with the generic map helpers.
    fn may_update_sockmap(&self, h: u32) -> bool {
        use uapi::ProgType::*;
        if !matches!(h, id::MAP_UPDATE_ELEM | id::MAP_DELETE_ELEM) {
            return false;
        }
        match self.prog_type {
            SocketFilter | SchedCls | SchedAct | Xdp | SkReuseport | FlowDissector | SkLookup
            | Syscall => true,
            Tracing => self.attach == Some(uapi::AttachType::TraceIter),
            // Inserts only through the sock_ops helpers.
            SockOps => h == id::MAP_DELETE_ELEM,
            _ => false,
        }
    }
}

/// `get_constant_map_key`: the key a stack pointer points to, when the
/// stack holds it as zero bytes or as a spilled constant of exactly the
/// key's size.
fn const_map_key(st: &State, reg: &RegState, key_size: u32) -> Option<u64> {
    use crate::state::ByteKind;
    let p = reg.as_ptr()?;
    let PtrKind::Stack { frame } = p.kind else {
        return None;
    };
    let at = p.fixed_offset()?;
    if !(-(uapi::MAX_BPF_STACK as i64)..0).contains(&at) || key_size == 0 {
        return None;
    }
    let (spi, off) = crate::state::stack::locate(at);
    let slot = st.frames.get(frame as usize)?.stack.slots.get(spi)?;
    let run = |kind: ByteKind| {
        slot.bytes[..=off]
            .iter()
            .rev()
            .take_while(|b| **b == kind)
            .count()
    };
    if run(ByteKind::Zero) >= key_size as usize {
        return Some(0);
    }
    if !slot.is_spill() || run(ByteKind::Spill) != key_size as usize {
        return None;
    }
    slot.spilled.as_scalar()?.as_const()
}

/// Pointers a helper may read or write memory through.
fn is_mem_ptr(r: &RegState) -> bool {
    matches!(
        r.as_ptr().map(|p| p.kind),
        Some(
            PtrKind::Stack { .. }
                | PtrKind::Packet { .. }
                | PtrKind::PacketMeta { .. }
                | PtrKind::MapKey { .. }
                | PtrKind::MapValue { null: false, .. }
                | PtrKind::Mem { null: false, .. }
        )
    )
}

/// After a call: pointers into a released reservation and, for helpers that
/// may move packet data, every packet pointer become unknown scalars.
fn invalidate(st: &mut State, changes_pkt_data: bool, meta: &Meta) {
    if let Some(rid) = meta.release_ref {
        st.refs.retain(|r| r.id != rid);
        st.for_each_reg(|r| {
            if matches!(r, RegState::Ptr(p) if p.ref_obj_id == rid) {
                *r = RegState::unknown();
            }
        });
    }
    if changes_pkt_data {
        st.for_each_reg(|r| {
            if matches!(r, RegState::Ptr(p) if p.kind.is_pkt() || p.kind == PtrKind::PacketEnd) {
                *r = RegState::unknown();
            }
        });
    }
}
