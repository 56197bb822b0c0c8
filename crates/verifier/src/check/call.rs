//! Calls and exits: bpf-to-bpf calls (new frames), indirect calls through a
//! known subprogram address, callbacks, and the checks at `exit`.

use super::{Env, Flow};
use crate::domain::Scalar;
use crate::error::*;
use crate::state::{CallbackInfo, Frame, PtrKind, RegState, State};
use isa::{CallTarget, Reg};
use uapi::ProgType;

impl Env {
    pub(super) fn check_call(
        &mut self,
        st: &mut State,
        target: CallTarget,
        pc: usize,
    ) -> Result<Flow, Fail> {
        match target {
            CallTarget::Helper(id) => self.check_helper_call(st, id, pc),
            CallTarget::Local { rel } => {
                let t = (pc as i64 + 1 + rel as i64) as usize;
                let sub = self.prog.subprog_at(t).ok_or_else(|| {
                    Fail::internal(format!("call target {t} is not a subprogram"))
                })?;
                if self.globals.get(sub).is_some_and(|g| g.is_some()) {
                    return self.call_global(st, sub, pc);
                }
                self.enter_subprog(st, sub, pc, None)
            }
            CallTarget::Kfunc { .. } => {
                Err(self.fail(EINVAL, "calling kernel functions is not supported".into()))
            }
        }
    }

    /// `callx rN`: only through a register holding a subprogram address.
    pub(super) fn check_callx(
        &mut self,
        st: &mut State,
        reg: Reg,
        pc: usize,
    ) -> Result<Flow, Fail> {
        self.read_reg(st, reg)?;
        match st.cur().reg(reg) {
            RegState::Ptr(p) if p.off == 0 && p.var.as_const() == Some(0) => {
                if let PtrKind::Func { subprog } = p.kind {
                    return self.enter_subprog(st, subprog as usize, pc, None);
                }
                let msg = format!("R{} type={} expected=func", reg.n(), p.kind.name());
                Err(self.fail(EACCES, msg))
            }
            r => {
                let msg = format!("R{} type={} expected=func", reg.n(), r.type_name());
                Err(self.fail(EACCES, msg))
            }
        }
    }

    /// Push a frame for subprogram `sub` called from `pc`, with `r1`–`r5`
    /// passed on (or given by `args` for a callback).
    pub(super) fn enter_subprog(
        &mut self,
        st: &mut State,
        sub: usize,
        pc: usize,
        callback: Option<([RegState; 5], CallbackInfo)>,
    ) -> Result<Flow, Fail> {
        if st.lock.is_some() {
            return Err(self.fail(
                EINVAL,
                "function calls are not allowed while holding a lock".into(),
            ));
        }
        if st.frames.len() >= uapi::MAX_CALL_FRAMES {
            let msg = format!(
                "the call stack of {} frames is too deep",
                st.frames.len() + 1
            );
            return Err(self.fail(E2BIG, msg));
        }
        let frameno = st.frames.len() as u32;
        let mut f = Frame::new(frameno, sub, pc);
        match callback {
            Some((args, info)) => {
                for (i, a) in args.into_iter().enumerate() {
                    f.regs[i + 1] = a;
                }
                f.callback = Some(info);
            }
            None => {
                for r in 1..=5 {
                    f.regs[r] = st.cur().regs[r].clone();
                }
            }
        }
        if self.log.level2() {
            self.log.put("caller:\n");
            self.log.state(st, true, &self.maps);
        }
        st.frames.push(f);
        if self.log.level2() {
            self.log.put("callee:\n");
            self.log.state(st, true, &self.maps);
        }
        self.log.scratch_all();
        let start = self.prog.subprogs[sub].start;
        Ok(Flow::Next(start))
    }

    pub(super) fn check_exit(&mut self, st: &mut State) -> Result<Flow, Fail> {
        // A static subprogram may leave `r0` unset (clang drops the return
        // value when no caller reads it): the caller gets it as it is, and
        // only a read there fails (`prepare_func_exit`).
        if st.frames.len() > 1 {
            return self.return_from_subprog(st);
        }
        self.read_reg(st, Reg::R0)?;
        if st.lock.is_some() {
            let msg =
                "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region";
            return Err(self.fail(EINVAL, msg.into()));
        }
        if !st.refs.is_empty() {
            let mut msg = String::new();
            for r in &st.refs {
                msg.push_str(&format!(
                    "Unreleased reference id={} alloc_insn={}\n",
                    r.id, r.insn
                ));
            }
            msg.push_str("BPF_EXIT instruction in main prog would lead to reference leak");
            return Err(self.fail(EINVAL, msg));
        }
        self.check_return_code(st)?;
        Ok(Flow::End)
    }

    /// The program type's allowed return values.
    fn check_return_code(&mut self, st: &State) -> Result<(), Fail> {
        if self.in_global.is_some() {
            // A global function returns a scalar to whoever called it.
            return match st.cur().reg(Reg::R0) {
                RegState::Scalar(_) => Ok(()),
                r => {
                    let msg = format!(
                        "At subprogram exit the register R0 is not a scalar value ({})",
                        r.type_name()
                    );
                    Err(self.fail(EACCES, msg))
                }
            };
        }
        if let Some(cb) = &st.frames[0].callback {
            // The exit of an asynchronous (timer) callback.
            let (lo, hi) = (cb.ret_min, cb.ret_max);
            return self.check_r0_range(st, lo, hi, "At async callback return");
        }
        let range = match self.prog_type {
            ProgType::CgroupSkb => {
                if self.attach == Some(uapi::AttachType::CgroupInetEgress) {
                    Some((0, 3))
                } else {
                    Some((0, 1))
                }
            }
            // recvmsg and get{peer,sock}name hooks must let the call
            // through: only 1.
            ProgType::CgroupSockAddr
                if matches!(
                    self.attach,
                    Some(
                        uapi::AttachType::CgroupUdp4Recvmsg
                            | uapi::AttachType::CgroupUdp6Recvmsg
                            | uapi::AttachType::CgroupUnixRecvmsg
                            | uapi::AttachType::CgroupInet4Getpeername
                            | uapi::AttachType::CgroupInet6Getpeername
                            | uapi::AttachType::CgroupUnixGetpeername
                            | uapi::AttachType::CgroupInet4Getsockname
                            | uapi::AttachType::CgroupInet6Getsockname
                            | uapi::AttachType::CgroupUnixGetsockname
                    )
                ) =>
            {
                Some((1, 1))
            }
            ProgType::CgroupSock
            | ProgType::CgroupSockAddr
            | ProgType::CgroupDevice
            | ProgType::CgroupSysctl
            | ProgType::CgroupSockopt
            | ProgType::SockOps => Some((0, 1)),
            ProgType::SkLookup => Some((0, 1)),
            ProgType::Netfilter => Some((0, 1)),
            ProgType::Tracing => match self.attach {
                Some(uapi::AttachType::TraceIter) => Some((0, 1)),
                Some(uapi::AttachType::TraceFentry | uapi::AttachType::TraceFexit) => Some((0, 0)),
                _ => None,
            },
            _ => None,
        };
        let Some((lo, hi)) = range else { return Ok(()) };
        self.check_r0_range(st, lo, hi, "At program exit")
    }

    fn check_r0_range(&mut self, st: &State, lo: i64, hi: i64, ctx: &str) -> Result<(), Fail> {
        match st.cur().reg(Reg::R0) {
            RegState::Scalar(s) => {
                if s.val.s64.min >= lo && s.val.s64.max <= hi {
                    return Ok(());
                }
                let mut msg = format!("{ctx} the register R0 has");
                let mut unknown = true;
                if s.val.s64.min > i64::MIN {
                    msg.push_str(&format!(" smin={}", s.val.s64.min));
                    unknown = false;
                }
                if s.val.s64.max < i64::MAX {
                    msg.push_str(&format!(" smax={}", s.val.s64.max));
                    unknown = false;
                }
                if unknown {
                    msg.push_str(" unknown scalar value");
                }
                msg.push_str(&format!(" should have been in [{lo}, {hi}]"));
                Err(self.fail(EINVAL, msg))
            }
            r => {
                let msg = format!(
                    "{ctx} the register R0 is not a known value ({})",
                    r.type_name()
                );
                Err(self.fail(EINVAL, msg))
            }
        }
    }

    /// `exit` in a subprogram: hand `r0` back and resume the caller after
    /// the call (or, for a callback, at the helper call again so that the
    /// callback is explored as a loop).
    fn return_from_subprog(&mut self, st: &mut State) -> Result<Flow, Fail> {
        let callee = st.cur().clone();
        if let RegState::Ptr(p) = callee.reg(Reg::R0) {
            if matches!(p.kind, PtrKind::Stack { .. }) {
                return Err(self.fail(EINVAL, "cannot return stack pointer to the caller".into()));
            }
        }
        if let Some(cb) = &callee.callback {
            if !matches!(callee.reg(Reg::R0), RegState::Scalar(_)) {
                return Err(self.fail(EACCES, "R0 not a scalar value".into()));
            }
            self.check_r0_range(st, cb.ret_min, cb.ret_max, "At callback return")?;
        }
        if self.log.level2() {
            self.log.put("returning from callee:\n");
            self.log.state(st, true, &self.maps);
        }
        st.frames.pop();
        let caller = st.cur_mut();
        let resume = if callee.callback.is_some() {
            // Back to the helper call: it decides again whether to call the
            // callback once more or to return.
            callee.callsite
        } else {
            caller.regs[0] = callee.regs[0].clone();
            for r in 1..=5 {
                caller.regs[r] = RegState::NotInit;
            }
            callee.callsite + 1
        };
        if self.log.level2() {
            self.log.put(&format!("to caller at {resume}:\n"));
            self.log.state(st, true, &self.maps);
        }
        self.log.scratch_all();
        Ok(Flow::Next(resume))
    }

    /// After a helper returns: `r1`–`r5` are clobbered, `r0` set.
    pub(super) fn clobber_caller_saved(&mut self, st: &mut State, r0: RegState) {
        let f = st.cur_mut();
        for r in 1..=5 {
            f.regs[r] = RegState::NotInit;
        }
        f.regs[0] = r0;
        for r in 0..=5 {
            self.log.scratch_reg(r);
        }
    }

    /// `bpf_timer_set_callback`: the callback runs later, on its own, with
    /// `r1` the timer's map, `r2` the key and `r3` the value holding the
    /// timer (`push_async_cb`): it is explored as a separate program whose
    /// `exit` must return 0; the caller goes on with `r0` unknown.
    pub(super) fn async_callback(
        &mut self,
        st: &mut State,
        sub: usize,
        pc: usize,
        map: crate::input::MapIdx,
    ) -> Result<Flow, Fail> {
        let mut f = crate::state::Frame::new(0, sub, pc);
        f.regs[1] = RegState::ptr(PtrKind::MapPtr { map, null: false });
        f.regs[2] = RegState::ptr(PtrKind::MapKey { map });
        f.regs[3] = RegState::ptr(PtrKind::MapValue { map, null: false });
        f.callback = Some(CallbackInfo {
            ret_min: 0,
            ret_max: 0,
        });
        let cb = State {
            frames: vec![f],
            refs: Vec::new(),
            lock: None,
        };
        self.clobber_caller_saved(st, RegState::unknown());
        Ok(Flow::Fork {
            other: Box::new(cb),
            other_pc: self.prog.subprogs[sub].start,
            next: pc + 1,
        })
    }

    /// `bpf_loop` and `bpf_for_each_map_elem`: either the callback runs once more (a new frame at the
    /// callback with `r1` the index and `r2` the context), or the helper
    /// returns the number of iterations.
    pub(super) fn loop_callback(
        &mut self,
        st: &mut State,
        sub: usize,
        pc: usize,
        map: Option<crate::input::MapIdx>,
    ) -> Result<Flow, Fail> {
        let mut enter = st.clone();
        let args = match map {
            // bpf_loop: (index, ctx).
            None => [
                RegState::scalar(Scalar::unsigned_range(0, u32::MAX as u64)),
                st.cur().regs[3].clone(),
                RegState::NotInit,
                RegState::NotInit,
                RegState::NotInit,
            ],
            // bpf_for_each_map_elem: (map, key, value, ctx).
            Some(map) => [
                RegState::ptr(PtrKind::MapPtr { map, null: false }),
                RegState::ptr(PtrKind::MapKey { map }),
                RegState::ptr(PtrKind::MapValue { map, null: false }),
                st.cur().regs[3].clone(),
                RegState::NotInit,
            ],
        };
        let info = CallbackInfo {
            ret_min: 0,
            ret_max: 1,
        };
        let Flow::Next(start) = self.enter_subprog(&mut enter, sub, pc, Some((args, info)))? else {
            return Err(Fail::internal("enter_subprog did not continue".into()));
        };
        self.clobber_caller_saved(st, RegState::unknown());
        Ok(Flow::Fork {
            other: Box::new(enter),
            other_pc: start,
            next: pc + 1,
        })
    }
}
