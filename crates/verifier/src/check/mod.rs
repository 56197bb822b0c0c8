//! Path exploration: the main loop, the worklist of branch states, state
//! pruning and the complexity limit.
//!
//! One path is followed at a time, depth first. A conditional jump whose
//! outcome is not decided pushes the state of the taken edge and goes on
//! with the fall-through. At prune points the current state is compared with
//! the states saved there; if a finished one covers it the path ends. Saved
//! states count the paths still running below them (`branches`): only a
//! state whose subtree is finished may prune, except at callback call sites
//! where an enclosing, still-running state may (the loop argument: a
//! repeated state adds no new behaviour). An exactly repeated running state
//! elsewhere is an infinite loop.

mod alu;
mod btfptr;
mod call;
pub(crate) mod global;
mod helper;
mod jmp;
mod mem;

use crate::cfg::Program;
use crate::ctx::CtxRewrite;
use crate::error::*;
use crate::input::{LineInfo, MapIdx, MapMeta, Options};
use crate::log::Log;
use crate::state::equiv::covers_with;
use crate::state::{PtrKind, RegState, State};
use isa::{Insn, Reg};
use std::collections::BTreeSet;
use uapi::{AttachType, ProgType};

/// Per-instruction facts gathered during exploration.
#[derive(Debug, Clone, Default)]
pub struct InsnAux {
    /// Reached on some path.
    pub seen: bool,
    /// For loads and stores: whether the pointer was the context (the same
    /// instruction may not be used with the context and another pointer).
    pub ctx_access: Option<bool>,
    /// How to rewrite a context access.
    pub ctx_rewrite: Option<CtxRewrite>,
    /// A load through a BTF pointer: the kernel's `BPF_PROBE_MEM`.
    pub probe_mem: bool,
    /// For loads and stores: whether the pointer was a BTF pointer (like
    /// the context, it may not share an instruction with other memory).
    pub btf_access: Option<bool>,
}

/// A state saved at a prune point.
struct Checkpoint {
    state: State,
    /// Paths still being explored below this state.
    branches: u32,
    parent: Option<usize>,
}

/// A branch waiting to be explored.
struct Pending {
    state: State,
    insn: usize,
    prev: usize,
    log_pos: usize,
    parent: Option<usize>,
}

/// What one instruction does to control flow.
pub(crate) enum Flow {
    Next(usize),
    /// Explore `other` at `other_pc` later; go on at `next`.
    Fork {
        other: Box<State>,
        other_pc: usize,
        next: usize,
    },
    /// The path ended (exit of the main program).
    End,
}

/// The verifier's environment for one program.
pub(crate) struct Env {
    pub prog: Program,
    pub prog_type: ProgType,
    pub attach: Option<AttachType>,
    /// What a tracing program attaches to (its BTF-typed arguments).
    pub btf_target: Option<crate::ctx::btf::Target>,
    /// The kernel's BTF, when the request gave it.
    pub vmlinux: Option<&'static btf::Btf>,
    /// Struct ids looked up in `vmlinux` by name (a linear scan each).
    pub struct_ids: Vec<(&'static str, Option<u32>)>,
    /// Per subprogram: its prototype when it is a global function.
    pub globals: Vec<Option<global::GlobalFn>>,
    /// Global functions called so far (verified after the main program).
    pub globals_called: Vec<usize>,
    /// The global function being verified on its own, if any.
    pub in_global: Option<usize>,
    pub maps: Vec<MapMeta>,
    pub map_by_fd: std::collections::BTreeMap<i32, MapIdx>,
    pub opts: Options,
    pub log: Log,
    pub linfo: Vec<LineInfo>,
    pub id_gen: u32,
    pub insn_processed: u64,
    pub aux: Vec<InsnAux>,
    pub stack_depth: Vec<usize>,
    pub used_helpers: BTreeSet<u32>,
    pub used_maps: BTreeSet<MapIdx>,
    /// The instruction being checked.
    pub pc: usize,
    ckpts: Vec<Checkpoint>,
    explored: Vec<Vec<usize>>,
    pending: Vec<Pending>,
    jmps_processed: u64,
    prev_jmps_processed: u64,
    prev_insn_processed: u64,
    pub max_states_per_insn: usize,
    last_linfo: Option<usize>,
    /// The host's own helpers ([`crate::Request::custom_helpers`]).
    pub custom_helpers: Vec<uapi::proto::HelperProto>,
}

impl Env {
    pub fn new(prog: Program, prog_type: ProgType, log_level: u32, opts: Options) -> Env {
        let n = prog.insns.len();
        let nsub = prog.subprogs.len();
        Env {
            prog,
            prog_type,
            attach: None,
            btf_target: None,
            vmlinux: None,
            struct_ids: Vec::new(),
            globals: Vec::new(),
            globals_called: Vec::new(),
            in_global: None,
            maps: Vec::new(),
            map_by_fd: Default::default(),
            opts,
            log: Log::new(log_level),
            linfo: Vec::new(),
            id_gen: 0,
            insn_processed: 0,
            aux: vec![InsnAux::default(); n],
            stack_depth: vec![0; nsub],
            used_helpers: BTreeSet::new(),
            used_maps: BTreeSet::new(),
            pc: 0,
            ckpts: Vec::new(),
            explored: vec![Vec::new(); n],
            pending: Vec::new(),
            jmps_processed: 0,
            prev_jmps_processed: 0,
            prev_insn_processed: 0,
            max_states_per_insn: 0,
            last_linfo: None,
            custom_helpers: Vec::new(),
        }
    }

    /// A rejection at the current instruction; the message goes to the log.
    pub fn fail(&mut self, errno: i32, msg: String) -> Fail {
        Fail::new(errno, msg)
    }

    pub fn new_id(&mut self) -> u32 {
        self.id_gen += 1;
        self.id_gen
    }

    /// Number of saved states.
    pub fn total_states(&self) -> usize {
        self.ckpts.len()
    }

    /// Explore every path from the entry state.
    pub fn run(&mut self, st: State) -> Result<(), Fail> {
        self.run_at(st, 0)
    }

    /// Explore every path from `st` at instruction `start` (a global
    /// function's first instruction, verified on its own).
    pub fn run_at(&mut self, mut st: State, start: usize) -> Result<(), Fail> {
        let mut pc = start;
        let mut prev = usize::MAX;
        let mut parent: Option<usize> = None;
        let mut print_state = false;
        self.log.scratch_all();
        loop {
            self.pc = pc;
            self.insn_processed += 1;
            if self.insn_processed > uapi::COMPLEXITY_LIMIT_INSNS as u64 {
                return Err(self.fail(
                    E2BIG,
                    format!(
                        "BPF program is too large. Processed {} insn",
                        self.insn_processed
                    ),
                ));
            }
            let pruned = if self.prog.prune[pc] {
                self.visit(pc, &mut st, &mut parent)?
            } else {
                false
            };
            let flow = if pruned {
                if self.log.on() {
                    if print_state {
                        self.log.put(&format!("\nfrom {prev} to {pc}: safe\n"));
                    } else {
                        self.log.put(&format!("{pc}: safe\n"));
                    }
                }
                Flow::End
            } else {
                if self.log.on() {
                    self.log_insn(pc, prev, &st, print_state);
                }
                print_state = false;
                self.aux[pc].seen = true;
                self.step(&mut st, pc)?
            };
            match flow {
                Flow::Next(n) => {
                    prev = pc;
                    pc = n;
                }
                Flow::Fork {
                    other,
                    other_pc,
                    next,
                } => {
                    self.push(*other, other_pc, pc, parent)?;
                    prev = pc;
                    pc = next;
                }
                Flow::End => {
                    self.finish_path(parent);
                    let Some(p) = self.next_path() else {
                        return Ok(());
                    };
                    st = p.state;
                    pc = p.insn;
                    prev = p.prev;
                    parent = p.parent;
                    print_state = true;
                }
            }
        }
    }

    /// The next branch to explore; at level 1 the log is cut back to where
    /// it was pushed, so that only the path to an error remains.
    fn next_path(&mut self) -> Option<Pending> {
        let p = self.pending.pop()?;
        if !self.log.level2() {
            self.log.reset(p.log_pos);
        }
        self.log.scratch_all();
        Some(p)
    }

    fn log_insn(&mut self, pc: usize, prev: usize, st: &State, print_state: bool) {
        if self.log.level2() && print_state {
            self.log.from_to(prev, pc, st, &self.maps);
        }
        if self.log.is_scratched() {
            self.log.insn_state(pc, st, &self.maps);
        }
        self.print_linfo(pc);
        if let Some(insn) = &self.prog.insns[pc] {
            let text = isa::disasm::kernel_text(insn, pc, &isa::disasm::DefaultKernelNames);
            self.log.insn(pc, &text);
        }
    }

    /// `; source text @ file:line` when the instruction starts a new line.
    fn print_linfo(&mut self, pc: usize) {
        let Some(i) = self.linfo.iter().rposition(|l| l.insn_off as usize <= pc) else {
            return;
        };
        if self.last_linfo == Some(i) || self.linfo[i].insn_off as usize != pc {
            return;
        }
        self.last_linfo = Some(i);
        let l = &self.linfo[i];
        let file = l.file.rsplit('/').next().unwrap_or(&l.file);
        let line = format!("; {} @ {}:{}\n", l.text.trim(), file, l.line);
        self.log.put(&line);
    }

    fn push(
        &mut self,
        st: State,
        insn: usize,
        prev: usize,
        parent: Option<usize>,
    ) -> Result<(), Fail> {
        if self.pending.len() >= 8192 {
            return Err(self.fail(
                E2BIG,
                format!(
                    "The sequence of {} jumps is too complex.",
                    self.pending.len() + 1
                ),
            ));
        }
        if let Some(p) = parent {
            self.ckpts[p].branches += 1;
        }
        self.pending.push(Pending {
            state: st,
            insn,
            prev,
            log_pos: self.log.pos(),
            parent,
        });
        Ok(())
    }

    /// A path ended: its saved ancestors lose one running branch.
    fn finish_path(&mut self, mut parent: Option<usize>) {
        while let Some(p) = parent {
            let c = &mut self.ckpts[p];
            c.branches = c.branches.saturating_sub(1);
            if c.branches > 0 {
                break;
            }
            parent = c.parent;
        }
    }

    /// At a prune point: prune if a saved state covers `st`, otherwise maybe
    /// save `st`.
    fn visit(
        &mut self,
        pc: usize,
        st: &mut State,
        parent: &mut Option<usize>,
    ) -> Result<bool, Fail> {
        let live = self.prog.live_in[pc];
        let loop_ok = self.is_callback_call(pc);
        for &id in &self.explored[pc] {
            let ck = &self.ckpts[id];
            if ck.branches > 0 {
                if loop_ok && covers_with(&ck.state, st, live, false, self.opts.allow_uninit_stack)
                {
                    return Ok(true);
                }
                if !loop_ok
                    && covers_with(&ck.state, st, u16::MAX, true, self.opts.allow_uninit_stack)
                {
                    // Inside a callback the same state recurs on the next
                    // iteration of the helper's loop: that is convergence,
                    // not an infinite loop.
                    if st.frames.iter().any(|f| f.callback.is_some()) {
                        return Ok(true);
                    }
                    let old = ck.state.clone();
                    return Err(self.infinite_loop(pc, st, &old));
                }
                continue;
            }
            if covers_with(&ck.state, st, live, false, self.opts.allow_uninit_stack) {
                return Ok(true);
            }
        }
        if loop_ok {
            self.widen_at_callback(pc, st);
        }
        let jmps = self.jmps_processed - self.prev_jmps_processed;
        let insns = self.insn_processed - self.prev_insn_processed;
        let back_edge_target = self.prog.force_ckpt[pc]
            || (self.explored[pc].is_empty()
                && self.aux[pc].seen
                && self.prog.insns[pc].is_some_and(|i| matches!(i, Insn::Ja { .. })));
        if !(loop_ok || back_edge_target || (jmps >= 2 && insns >= 8)) {
            return Ok(false);
        }
        self.prev_jmps_processed = self.jmps_processed;
        self.prev_insn_processed = self.insn_processed;
        let id = self.ckpts.len();
        self.ckpts.push(Checkpoint {
            state: st.clone(),
            branches: 1,
            parent: *parent,
        });
        // Cap the list: comparing against thousands of saved states costs
        // more than re-exploring; the oldest state goes (pruning is lost,
        // never soundness).
        if self.explored[pc].len() >= MAX_STATES_PER_INSN {
            self.explored[pc].remove(0);
        }
        self.explored[pc].push(id);
        self.max_states_per_insn = self.max_states_per_insn.max(self.explored[pc].len());
        *parent = Some(id);
        Ok(false)
    }

    /// Around a callback call site the state of an enclosing iteration is
    /// still running: scalars that changed since then are widened to
    /// unknown, so that the next iteration is covered and the callback loop
    /// converges (the kernel does the same for the scalars it did not need
    /// to be precise).
    fn widen_at_callback(&mut self, pc: usize, st: &mut State) {
        let Some(&id) = self.explored[pc]
            .iter()
            .rev()
            .find(|&&id| self.ckpts[id].branches > 0)
        else {
            return;
        };
        let old = &self.ckpts[id].state;
        if old.frames.len() != st.frames.len() {
            return;
        }
        for (fo, fc) in old.frames.iter().zip(st.frames.iter_mut()) {
            for (ro, rc) in fo.regs.iter().zip(fc.regs.iter_mut()) {
                widen_reg(ro, rc);
            }
            for (so, sc) in fo.stack.slots.iter().zip(fc.stack.slots.iter_mut()) {
                if so.is_spill() && sc.is_spill() {
                    widen_reg(&so.spilled, &mut sc.spilled);
                }
            }
        }
    }

    /// `infinite loop detected`, with both states as the kernel prints them.
    fn infinite_loop(&mut self, pc: usize, cur: &State, old: &State) -> Fail {
        let mut tmp = Log::new(crate::log::LEVEL1);
        tmp.state(cur, true, &self.maps);
        let cur_s = tmp.buf.trim_end().to_string();
        let mut tmp = Log::new(crate::log::LEVEL1);
        tmp.state(old, true, &self.maps);
        let old_s = tmp.buf.trim_end().to_string();
        let msg =
            format!("infinite loop detected at insn {pc}\ncur state:{cur_s}\nold state:{old_s}");
        self.fail(EINVAL, msg)
    }

    fn is_callback_call(&self, pc: usize) -> bool {
        matches!(
            self.prog.insns[pc],
            Some(Insn::Call(isa::CallTarget::Helper(h)))
                if matches!(h as u32, uapi::helpers::id::LOOP | uapi::helpers::id::FOR_EACH_MAP_ELEM)
        )
    }

    /// Check one instruction and apply its effect.
    fn step(&mut self, st: &mut State, pc: usize) -> Result<Flow, Fail> {
        let Some(insn) = self.prog.insns[pc] else {
            return Err(Fail::internal(format!("insn {pc} is the middle of lddw")));
        };
        let next = pc + insn.slots();
        match insn {
            Insn::Alu { .. } | Insn::Neg { .. } | Insn::MovSx { .. } | Insn::Endian { .. } => {
                self.check_alu(st, &insn)?;
                Ok(Flow::Next(next))
            }
            Insn::LoadImm64 { dst, imm } => {
                self.check_ld_imm64(st, dst, imm, pc)?;
                Ok(Flow::Next(next))
            }
            Insn::LoadPacket { mode, size, .. } => {
                self.check_ld_abs(st, mode, size)?;
                Ok(Flow::Next(next))
            }
            Insn::Load { .. } | Insn::Store { .. } | Insn::Atomic { .. } => {
                self.check_mem_insn(st, &insn)?;
                Ok(Flow::Next(next))
            }
            Insn::Ja { .. } => {
                self.jmps_processed += 1;
                let t = insn.branch_target(pc).unwrap_or(0) as usize;
                Ok(Flow::Next(t))
            }
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                ..
            } => {
                self.jmps_processed += 1;
                let t = insn.branch_target(pc).unwrap_or(0) as usize;
                self.check_cond_jmp(st, width, cond, dst, src, next, t)
            }
            Insn::Call(target) => {
                self.jmps_processed += 1;
                self.check_call(st, target, pc)
            }
            Insn::CallX { reg, .. } => {
                self.jmps_processed += 1;
                self.check_callx(st, reg, pc)
            }
            Insn::Exit => {
                self.jmps_processed += 1;
                self.check_exit(st)
            }
        }
    }

    /// Read access to a register (`check_reg_arg(SRC_OP)`).
    pub fn read_reg(&mut self, st: &State, r: Reg) -> Result<(), Fail> {
        self.log.scratch_reg(r.idx());
        if !st.cur().reg(r).is_init() {
            return Err(self.fail(EACCES, format!("R{} !read_ok", r.n())));
        }
        Ok(())
    }

    /// Write access to a register (`check_reg_arg(DST_OP)`).
    pub fn write_reg(&mut self, r: Reg) -> Result<(), Fail> {
        self.log.scratch_reg(r.idx());
        if r == Reg::R10 {
            return Err(self.fail(EACCES, "frame pointer is read only".into()));
        }
        Ok(())
    }

    /// The map a `lddw` fd refers to.
    pub fn map_of_fd(&mut self, fd: i32) -> Result<MapIdx, Fail> {
        match self.map_by_fd.get(&fd) {
            Some(&m) => {
                self.used_maps.insert(m);
                Ok(m)
            }
            None => Err(self.fail(
                EBADF_OR_INVAL,
                format!("fd {fd} is not pointing to valid bpf_map"),
            )),
        }
    }

    fn check_ld_imm64(
        &mut self,
        st: &mut State,
        dst: Reg,
        imm: isa::LoadImm,
        pc: usize,
    ) -> Result<(), Fail> {
        self.write_reg(dst)?;
        let r = match imm {
            isa::LoadImm::Imm(v) => RegState::scalar(crate::domain::Scalar::constant(v)),
            isa::LoadImm::MapFd(fd) => {
                let map = self.map_of_fd(fd)?;
                RegState::ptr(PtrKind::MapPtr { map, null: false })
            }
            isa::LoadImm::MapValue { fd, off } => {
                let map = self.map_of_fd(fd)?;
                let m = &self.maps[map as usize];
                if m.max_entries != 1 || !matches!(m.map_type, uapi::MapType::Array) {
                    return Err(self.fail(
                        EINVAL,
                        "no direct value access support for this map type".into(),
                    ));
                }
                if off >= m.value_size {
                    let msg = format!(
                        "invalid access to map value pointer, value_size={} off={}",
                        m.value_size, off
                    );
                    return Err(self.fail(EINVAL, msg));
                }
                let mut p = crate::state::Ptr::new(PtrKind::MapValue { map, null: false });
                p.off = off as i32;
                RegState::Ptr(p)
            }
            isa::LoadImm::Func { .. } => {
                let t = self.prog.insns[pc]
                    .and_then(|i| i.branch_target(pc))
                    .unwrap_or(0) as usize;
                let sub = self
                    .prog
                    .subprog_at(t)
                    .ok_or_else(|| Fail::internal("func target".into()))?;
                RegState::ptr(PtrKind::Func {
                    subprog: sub as u32,
                })
            }
            isa::LoadImm::BtfId { .. } => {
                return Err(self.fail(
                    EINVAL,
                    "ksym variables (BPF_PSEUDO_BTF_ID) are not supported".into(),
                ))
            }
            isa::LoadImm::MapIdx(_) | isa::LoadImm::MapIdxValue { .. } => {
                return Err(self.fail(EINVAL, "fd_array map references are not supported".into()))
            }
        };
        *st.cur_mut().reg_mut(dst) = r;
        Ok(())
    }
}

/// A scalar that differs from the enclosing iteration's becomes unknown.
fn widen_reg(old: &RegState, cur: &mut RegState) {
    if let (RegState::Scalar(o), RegState::Scalar(c)) = (old, &mut *cur) {
        if !c.val.is_subset_of(&o.val) {
            *cur = RegState::unknown();
        }
    }
}

/// Saved states kept per instruction.
const MAX_STATES_PER_INSN: usize = 64;

/// The kernel returns `EBADF` for a bad map fd; tests compare the message.
const EBADF_OR_INVAL: i32 = 9;
