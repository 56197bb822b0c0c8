//! Global (non-static) functions: verified once on their own against their
//! BTF prototype, as the kernel does (`btf_prepare_func_args`,
//! `btf_check_subprog_call`), instead of with each caller's state.
//!
//! A call checks the arguments against the prototype — scalars, the
//! context, or memory of the pointed-to type's size (maybe null) — and
//! gives an unknown scalar in `r0` without entering the function. After
//! the main program, every global function called is explored from a state
//! built from its prototype alone; its `exit` must return a scalar.

use super::mem::Access;
use super::{Env, Flow};
use crate::error::*;
use crate::input::ProgBtf;
use crate::state::{Frame, Ptr, PtrKind, RegState, State};
use ::btf::{Btf, FuncLinkage, Type};
use isa::Reg;
use uapi::ProgType;

/// What a global function's argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalArg {
    /// An integer or enum: any scalar.
    Scalar,
    /// A pointer to the program's context type.
    Ctx,
    /// A pointer to `size` bytes (the pointed-to type), null unless
    /// tagged `arg:nonnull`.
    Mem { size: u32, nonnull: bool },
}

/// A global function's prototype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalFn {
    pub name: String,
    pub args: Vec<GlobalArg>,
    /// Why the prototype cannot be used (the kernel says so at the first
    /// call: an argument whose size cannot be determined).
    pub bad: Option<String>,
}

/// The uapi name of the context struct of `t` (`btf_is_prog_ctx_type`).
fn ctx_type_name(t: ProgType) -> Option<&'static str> {
    use ProgType::*;
    Some(match t {
        SocketFilter | SchedCls | SchedAct | CgroupSkb | SkSkb | LwtIn | LwtOut | LwtXmit
        | LwtSeg6local => "__sk_buff",
        Xdp => "xdp_md",
        SkMsg => "sk_msg_md",
        SockOps => "bpf_sock_ops",
        CgroupSockAddr => "bpf_sock_addr",
        CgroupSock => "bpf_sock",
        PerfEvent => "bpf_perf_event_data",
        RawTracepoint => "bpf_raw_tracepoint_args",
        Kprobe => "pt_regs",
        _ => return None,
    })
}

/// The prototypes of the global functions among the subprograms starting
/// at `starts`, from the program's BTF.
pub(crate) fn prepare(
    pb: &ProgBtf,
    starts: &[usize],
    prog_type: ProgType,
) -> Result<Vec<Option<GlobalFn>>, Fail> {
    let btf = &pb.btf;
    let mut out = vec![None; starts.len()];
    for (sub, &start) in starts.iter().enumerate().skip(1) {
        let Some(&(_, fid)) = pb.funcs.iter().find(|(off, _)| *off as usize == start) else {
            continue;
        };
        let Ok(Type::Func(f)) = btf.get(fid) else {
            continue;
        };
        if f.linkage != FuncLinkage::Global {
            continue;
        }
        let name = btf.type_name(fid).unwrap_or("").to_string();
        let Ok(Type::FuncProto(fp)) = btf.get(f.proto) else {
            return Err(Fail::new(EINVAL, format!("{name}() has no prototype")));
        };
        let ret = btf.resolve(fp.ret_type).unwrap_or(0);
        if !matches!(
            btf.get(ret),
            Ok(Type::Int(_) | Type::Enum(_) | Type::Enum64(_))
        ) {
            let msg = format!(
                "Global function {name}() doesn't return scalar. Only those are supported."
            );
            return Err(Fail::new(EINVAL, msg));
        }
        if fp.params.len() > 5 {
            let msg = format!(
                "Global function {name}() with {} > 5 args. Only 5 are supported.",
                fp.params.len()
            );
            return Err(Fail::new(EINVAL, msg));
        }
        let mut args = Vec::new();
        let mut bad = None;
        for (i, p) in fp.params.iter().enumerate() {
            let tags = arg_tags(btf, fid, i);
            match arg_kind(btf, p.type_id, prog_type, &tags) {
                Ok(Some(a)) => args.push(a),
                Ok(None) => {
                    let t = btf.resolve(p.type_id).unwrap_or(0);
                    let kind = btf.get(t).map_or("UNKN", |t| t.kind().as_str());
                    let msg = format!("Arg#{i} type {kind} in {name}() is not supported yet.");
                    return Err(Fail::new(EINVAL, msg));
                }
                Err(m) => {
                    bad.get_or_insert(format!("arg#{i} {m}"));
                    args.push(GlobalArg::Scalar);
                }
            }
        }
        out[sub] = Some(GlobalFn { name, args, bad });
    }
    Ok(out)
}

/// The `arg:…` declaration tags (`__arg_ctx`, `__arg_nonnull`, …) on
/// argument `i` of function `fid`.
fn arg_tags(btf: &Btf, fid: u32, i: usize) -> Vec<String> {
    btf.types()
        .filter_map(|(_, t)| match t {
            Type::DeclTag(d) if d.type_id == fid && d.component_idx == i as i32 => btf
                .name_by_offset(d.name_off)
                .and_then(|n| n.strip_prefix("arg:"))
                .map(str::to_string),
            _ => None,
        })
        .collect()
}

/// `btf_prepare_func_args` for one argument: `Ok(None)` for a type no
/// global function may take, `Err` for a pointer whose target has no size
/// (reported when the function is called).
fn arg_kind(
    btf: &Btf,
    ty: u32,
    prog_type: ProgType,
    tags: &[String],
) -> Result<Option<GlobalArg>, String> {
    let Ok(t) = btf.resolve(ty) else {
        return Ok(None);
    };
    Ok(match btf.get(t) {
        Ok(Type::Int(i)) if i.size <= 8 => Some(GlobalArg::Scalar),
        Ok(Type::Enum(_) | Type::Enum64(_)) => Some(GlobalArg::Scalar),
        Ok(Type::Ptr(p)) => {
            if tags.iter().any(|t| t == "ctx") {
                return Ok(Some(GlobalArg::Ctx));
            }
            let target = btf.resolve(p.type_id).unwrap_or(0);
            let tname = btf.type_name(target).unwrap_or("");
            if !tname.is_empty() && ctx_type_name(prog_type) == Some(tname) {
                return Ok(Some(GlobalArg::Ctx));
            }
            let size = if target == 0 {
                0
            } else {
                btf.size_of(target).unwrap_or(0)
            };
            if size == 0 || size > u32::MAX as u64 {
                let kind = match btf.get(target) {
                    Ok(Type::Void) | Err(_) => "UNKNOWN",
                    Ok(t) => t.kind().as_str(),
                };
                return Err(format!(
                    "reference type('{kind} {tname}') size cannot be determined: -22"
                ));
            }
            Some(GlobalArg::Mem {
                size: size as u32,
                nonnull: tags.iter().any(|t| t == "nonnull"),
            })
        }
        _ => None,
    })
}

impl Env {
    /// A call of global function `sub`: arguments against its prototype,
    /// `r0` an unknown scalar; the function itself is verified later.
    pub(super) fn call_global(
        &mut self,
        st: &mut State,
        sub: usize,
        pc: usize,
    ) -> Result<Flow, Fail> {
        let Some(g) = self.globals[sub].clone() else {
            return Err(Fail::internal("call_global on a static function".into()));
        };
        if st.lock.is_some() {
            return Err(self.fail(
                EINVAL,
                "function calls are not allowed while holding a lock".into(),
            ));
        }
        self.check_global_args(st, &g).map_err(|mut f| {
            f.msg.push_str(&format!(
                "\nCaller passes invalid args into func#{sub} ('{}')",
                g.name
            ));
            f
        })?;
        if self.log.on() {
            let msg = format!("Func#{sub} ('{}') is global and assumed valid.\n", g.name);
            self.log.put(&msg);
        }
        if !self.globals_called.contains(&sub) {
            self.globals_called.push(sub);
        }
        self.clobber_caller_saved(st, RegState::unknown());
        Ok(Flow::Next(pc + 1))
    }

    /// `btf_check_subprog_call`: the caller's registers against the
    /// prototype.
    fn check_global_args(&mut self, st: &mut State, g: &GlobalFn) -> Result<(), Fail> {
        if let Some(m) = &g.bad {
            return Err(self.fail(EINVAL, m.clone()));
        }
        for (i, a) in g.args.iter().enumerate() {
            let r = Reg::new(i as u8 + 1).ok_or_else(|| Fail::internal("arg reg".into()))?;
            self.read_reg(st, r)?;
            let reg = st.cur().reg(r).clone();
            match *a {
                GlobalArg::Scalar => {
                    if !matches!(reg, RegState::Scalar(_)) {
                        return Err(self.fail(EINVAL, format!("R{} is not a scalar", r.n())));
                    }
                }
                GlobalArg::Ctx => {
                    let ok =
                        matches!(&reg, RegState::Ptr(p) if p.kind == PtrKind::Ctx && p.off == 0);
                    if !ok {
                        let msg = format!("arg#{i} expects pointer to ctx");
                        return Err(self.fail(EINVAL, msg));
                    }
                }
                GlobalArg::Mem { size, nonnull } => {
                    if reg.is_null_const() {
                        if nonnull {
                            let msg = format!("arg#{i} is expected to be non-NULL");
                            return Err(self.fail(EINVAL, msg));
                        }
                        continue;
                    }
                    let maybe_null = reg.as_ptr().is_some_and(|p| p.kind.maybe_null());
                    if maybe_null && nonnull {
                        let msg = format!("arg#{i} is expected to be non-NULL");
                        return Err(self.fail(EINVAL, msg));
                    }
                    let mem = matches!(
                        reg.as_ptr().map(|p| p.kind.non_null()),
                        Some(
                            PtrKind::Stack { .. }
                                | PtrKind::Packet { .. }
                                | PtrKind::PacketMeta { .. }
                                | PtrKind::MapKey { .. }
                                | PtrKind::MapValue { null: false, .. }
                                | PtrKind::Mem { null: false, .. }
                        )
                    );
                    if !mem {
                        // `check_helper_mem_access` names only the stack.
                        let msg = format!("R{} type={} expected=fp", r.n(), reg.type_name());
                        return Err(self.fail(EACCES, msg));
                    }
                    // The callee may read and write all of it; a maybe-null
                    // pointer is checked as if it were not null
                    // (`check_mem_reg`), then left as it was.
                    let saved = st.cur().reg(r).clone();
                    if let RegState::Ptr(p) = st.cur_mut().reg_mut(r) {
                        p.kind = p.kind.non_null();
                    }
                    let res = self
                        .helper_mem_access(st, r, size as u64, Access::Read, false)
                        .and_then(|_| {
                            self.helper_mem_access(st, r, size as u64, Access::Write, false)
                        });
                    *st.cur_mut().reg_mut(r) = saved;
                    res?;
                }
            }
        }
        Ok(())
    }

    /// Verify every global function called, each from its prototype.
    pub(crate) fn verify_globals(&mut self) -> Result<(), Fail> {
        let mut done = 0;
        while done < self.globals_called.len() {
            let sub = self.globals_called[done];
            done += 1;
            let Some(g) = self.globals[sub].clone() else {
                continue;
            };
            if self.log.on() {
                self.log
                    .put(&format!("Validating {}() func#{sub}...\n", g.name));
            }
            let mut f = Frame::new(0, sub, 0);
            for (i, a) in g.args.iter().enumerate() {
                f.regs[i + 1] = match *a {
                    GlobalArg::Scalar => RegState::unknown(),
                    GlobalArg::Ctx => RegState::ptr(PtrKind::Ctx),
                    GlobalArg::Mem { size, nonnull } => {
                        let mut p = Ptr::new(PtrKind::Mem {
                            size,
                            rdonly: false,
                            ringbuf: false,
                            null: !nonnull,
                        });
                        if !nonnull {
                            p.id = self.new_id();
                        }
                        RegState::Ptr(p)
                    }
                };
            }
            let st = State {
                frames: vec![f],
                refs: Vec::new(),
                lock: None,
            };
            self.in_global = Some(sub);
            let start = self.prog.subprogs[sub].start;
            let res = self.run_at(st, start);
            self.in_global = None;
            res?;
        }
        Ok(())
    }
}
