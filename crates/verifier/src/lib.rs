//! The oxbpf verifier: proves an eBPF program safe before it runs, with the
//! verdicts and the log of the Linux kernel's verifier (6.18 as the oracle).
//!
//! # The algorithm
//!
//! Verification is abstract interpretation of every path through the
//! program, in the order the kernel's `bpf_check()` does it.
//!
//! **Static passes** ([`mod@cfg`]). The bytes are decoded once into typed
//! instructions. Subprograms are found (slot 0, the targets of local calls
//! and of function-address `lddw`s); every jump must stay inside its
//! subprogram and each subprogram must end in `exit` or `goto`. A depth-first
//! walk from slot 0 (following calls) must reach every instruction. The same
//! walk marks *prune points* — conditional jumps, their targets, `goto`
//! targets, return sites, callback call sites — and a backward dataflow pass
//! computes which registers are live before each instruction. Loops are not
//! rejected here: like privileged kernel loads, bounded loops are verified by
//! exploring them.
//!
//! **State** ([`state`], [`domain`]). A path's state is a stack of frames,
//! each with eleven registers and a per-byte stack, plus acquired references
//! and the spin lock held. A register is uninitialised, a scalar, or a typed
//! pointer (context, stack, map, map value or null, packet, packet end,
//! helper memory, function …) with a fixed and a variable offset. Scalars
//! and variable offsets are the product of a tristate number and four
//! intervals (unsigned/signed × 64/32 bits) reconciled after every step.
//! Copies share ids, so a null check or a bounds check on one copy teaches
//! all of them; a comparison of a packet pointer with `data_end` gives every
//! pointer derived from the same base its proven range.
//!
//! **Exploration** (`check`). One path at a time, depth first: an undecided
//! conditional jump pushes the taken edge with its refined state and goes on
//! with the fall-through. Each instruction is checked against the state —
//! memory accesses against the pointer's kind and bounds, helper arguments
//! against their prototypes ([`uapi::proto`]), context accesses against the
//! program type ([`ctx`]) — and transforms it. A path ends at the main
//! program's `exit` (where references must be released, the lock dropped and
//! `r0` be a valid return value) or when pruned. A timer callback
//! (`bpf_timer_set_callback`) runs later on its own: it is explored as a
//! separate path from a fresh state (the timer's map, key and value) and
//! must return 0. Global functions — given the program's BTF
//! ([`Request::prog_btf`]) — are not entered at their calls: the arguments
//! are checked against the function's prototype, and after the main
//! program each function called is explored once from a state built from
//! that prototype alone, as the kernel does.
//!
//! **Pruning.** At prune points the state is compared with states saved
//! there. If a saved state whose exploration has finished *covers* the
//! current one — every live register and every stack byte it relied on
//! describes a superset of what the current state describes — the current
//! path is safe and ends. Saved states count their running descendants; an
//! exactly repeated running state means an infinite loop. At `bpf_loop` call
//! sites a running ancestor may prune too: that is how callbacks, explored
//! as loops around the call, converge.
//!
//! **Limits.** One million processed instructions (`BPF program is too
//! large`), 8192 pending branches, 8 call frames, 512 bytes of combined
//! stack along the deepest call chain.
//!
//! # Pragmatic choices
//!
//! * *All scalars are precise.* The kernel tracks which scalars influenced a
//!   safety decision and ignores the others when pruning; oxbpf compares all
//!   live ones. This only costs pruning, never soundness.
//! * *Stack liveness* is not computed: a stack byte the saved state left
//!   uninitialised is ignored (reading it would have failed there), the
//!   others are compared.
//! * *Callbacks converge by widening.* When a `bpf_loop` callback returns to
//!   its call site and the enclosing iteration's state does not cover the new
//!   one, scalars that changed become unknown (the kernel does this for the
//!   scalars it did not mark precise), so a counter kept in the caller's
//!   stack does not unroll the loop to the complexity limit. Inside a
//!   callback, a state equal to a running one is the next iteration of the
//!   helper's loop and is pruned (elsewhere it is an infinite loop).
//! * *At most 64 saved states per instruction*; the oldest is dropped first.
//!   States are always saved at jumps with a backward edge (so that a loop
//!   making no progress is reported as `infinite loop detected`), otherwise
//!   after at least 2 jumps and 8 instructions since the last save, as in
//!   the kernel.
//! * *Uninitialised stack reads* are refused unless
//!   [`Options::allow_uninit_stack`] is set (the kernel allows them to
//!   `CAP_PERFMON` loaders).
//! * *Kernel objects.* Tracing programs (`tp_btf`, `iter`, `fentry`) see
//!   their arguments typed by the kernel's BTF ([`Request::btf`]); pointers
//!   to kernel structs ([`state::PtrKind::BtfId`]) are read at offsets that
//!   fall on members, as the kernel's `btf_struct_walk` allows. Such loads
//!   are listed by [`VerifiedProgram::probe_mem_insns`]: like the kernel's
//!   `BPF_PROBE_MEM` they must not fault at run time. Socket pointers
//!   (`sk` context fields, socket map lookups) are not modelled and are
//!   refused.
//! * The loader is taken to be privileged otherwise: pointer comparisons,
//!   pointer subtraction and storing pointers to maps are allowed, as they
//!   are for root.
//!
//! # The log
//!
//! Level 1 prints the path to the error, level 2 every instruction with the
//! registers it touched, `from A to B:` states at branch starts, and the
//! kernel's preamble (`func#N @START`, live registers before each
//! instruction); both end with the `processed N insns …` line. Not
//! reproduced yet: the precision-tracking (`mark_precise: …`) and stack
//! liveness (`(0) frame 0 insn …`) debugging lines of level 2, and the
//! statistics of the last line, which follow oxbpf's own pruning.
//!
//! After acceptance the context accesses are rewritten to oxbpf's runtime
//! layout ([`uapi::ctx::kern`]) and [`VerifiedProgram`] carries the result.
#![forbid(unsafe_code)]

pub mod cfg;
mod check;
pub mod ctx;
pub mod dead;
pub mod domain;
mod error;
mod input;
pub mod log;
mod rewrite;
pub mod state;

pub use ctx::btf::attach_btf_id;
pub use error::{Fail, Rejection, RejectionKind};
pub use input::{BtfInfo, FuncInfo, LineInfo, MapIdx, MapMeta, Options, ProgBtf, Request};

use check::Env;
use isa::RawInsn;
use state::{PtrKind, RegState, State};

/// A program the verifier accepted. Only [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedProgram {
    insns: Vec<RawInsn>,
    stack_depth: Vec<usize>,
    insns_processed: u64,
    used_helpers: Vec<u32>,
    used_maps: Vec<i32>,
    probe_mem: Vec<usize>,
    removals: Vec<dead::Removal>,
    log: String,
}

impl VerifiedProgram {
    /// The program after the verifier's rewrites: context accesses in
    /// oxbpf's runtime layout, and without the code no path reaches (see
    /// [`dead`]: Linux's passes for privileged loads).
    pub fn insns(&self) -> &[RawInsn] {
        &self.insns
    }

    /// The instructions removed as dead, in the kernel's order (see
    /// [`dead::Removal`]); [`VerifiedProgram::adjust_line_info`] and
    /// [`VerifiedProgram::adjust_func_info`] move debug info accordingly.
    pub fn removals(&self) -> &[dead::Removal] {
        &self.removals
    }

    /// Line info of the request, moved to [`VerifiedProgram::insns`].
    pub fn adjust_line_info(&self, lines: &mut Vec<LineInfo>) {
        dead::adjust_line_info(lines, &self.removals, self.insns.len());
    }

    /// Function info of the request, moved to [`VerifiedProgram::insns`].
    pub fn adjust_func_info(&self, funcs: &mut Vec<FuncInfo>) {
        dead::adjust_func_info(funcs, &self.removals, self.insns.len());
    }

    /// Stack bytes each subprogram uses, in subprogram order.
    pub fn stack_depth(&self) -> &[usize] {
        &self.stack_depth
    }

    /// Instructions processed during exploration.
    pub fn insns_processed(&self) -> u64 {
        self.insns_processed
    }

    /// Helper ids the program calls.
    pub fn used_helpers(&self) -> &[u32] {
        &self.used_helpers
    }

    /// Fds of the maps the program uses.
    pub fn used_maps(&self) -> &[i32] {
        &self.used_maps
    }

    /// Slots of the loads through BTF pointers (kernel objects a tracing
    /// program reads): the kernel runs them as `BPF_PROBE_MEM`, loads
    /// that give 0 instead of faulting. A runtime must do the same — the
    /// verifier proved them typed, not backed by memory.
    pub fn probe_mem_insns(&self) -> &[usize] {
        &self.probe_mem
    }

    /// The log at the requested level (on success: the statistics line, and
    /// the whole exploration at level 2).
    pub fn log(&self) -> &str {
        &self.log
    }
}

/// Verify a program.
pub fn verify(req: &Request<'_>) -> Result<VerifiedProgram, Rejection> {
    let level = req.log_level;
    let reject = |f: Fail, log: String, pc: Option<usize>| Rejection {
        kind: if f.internal {
            RejectionKind::Internal
        } else {
            RejectionKind::Unsafe
        },
        message: f.msg.clone(),
        pc,
        errno: f.errno,
        log: if level & 3 != 0 {
            format!("{log}{}\n", f.msg)
        } else {
            String::new()
        },
    };
    let prog = cfg::analyze(req.insns).map_err(|f| reject(f, String::new(), None))?;
    let preamble = if level & log::LEVEL2 != 0 {
        prog.live_regs_listing()
    } else {
        String::new()
    };
    let mut env = Env::new(prog, req.prog_type, level, req.options);
    env.log.put(&preamble);
    env.attach = req.expected_attach_type;
    env.custom_helpers = req.custom_helpers.clone();
    if let Some(b) = req.btf {
        env.vmlinux = Some(b.vmlinux);
        env.log.btf = Some(b.vmlinux);
    }
    if req.prog_type == uapi::ProgType::Tracing {
        // The kernel refuses these at load time, before verifying.
        let Some(b) = req.btf else {
            let f = Fail::new(error::EINVAL, "Tracing programs must provide btf_id".into());
            return Err(reject(f, String::new(), None));
        };
        let t = ctx::btf::Target::new(b.vmlinux, b.attach_btf_id, req.expected_attach_type)
            .map_err(|m| reject(Fail::new(error::EINVAL, m), String::new(), None))?;
        env.btf_target = Some(t);
    }
    env.linfo = req.line_info.clone();
    env.linfo.sort_by_key(|l| l.insn_off);
    let mut fds = Vec::new();
    for (fd, m) in &req.maps {
        env.map_by_fd.insert(*fd, env.maps.len() as MapIdx);
        env.maps.push(m.clone());
        fds.push(*fd);
    }
    if let Some(pb) = &req.prog_btf {
        let starts: Vec<usize> = env.prog.subprogs.iter().map(|s| s.start).collect();
        env.globals = check::global::prepare(pb, &starts, req.prog_type)
            .map_err(|f| reject(f, String::new(), None))?;
    }
    let entry = State::entry(RegState::ptr(PtrKind::Ctx));
    let res = env
        .run(entry)
        .and_then(|_| env.verify_globals())
        .and_then(|_| check_stack_depths(&env));
    let stats = format!(
        "processed {} insns (limit {}) max_states_per_insn {} total_states {} peak_states {} mark_read 0\n",
        env.insn_processed,
        uapi::COMPLEXITY_LIMIT_INSNS,
        env.max_states_per_insn,
        env.total_states(),
        env.total_states()
    );
    if let Err(f) = res {
        let pc = Some(env.pc);
        let mut r = reject(f, std::mem::take(&mut env.log.buf), pc);
        if level & 3 != 0 {
            r.log.push_str(&stats);
        }
        return Err(r);
    }
    let mut log = if level & log::LEVEL2 != 0 {
        std::mem::take(&mut env.log.buf)
    } else {
        String::new()
    };
    if level & 3 != 0 {
        log.push_str(&stats);
    }
    let insns = rewrite::rewrite(req.insns, &env);
    let seen: Vec<bool> = env.aux.iter().map(|a| a.seen).collect();
    let (insns, removals) = dead::remove_dead(insns, &seen);
    // Slots of live instructions, in the compacted program.
    let moved = |mut pc: usize| {
        for &(off, cnt) in &removals {
            if pc >= (off + cnt) as usize {
                pc -= cnt as usize;
            }
        }
        pc
    };
    Ok(VerifiedProgram {
        insns,
        stack_depth: env.stack_depth.clone(),
        insns_processed: env.insn_processed,
        used_helpers: env.used_helpers.iter().copied().collect(),
        used_maps: env.used_maps.iter().map(|&m| fds[m as usize]).collect(),
        probe_mem: (0..env.aux.len())
            .filter(|&pc| env.aux[pc].probe_mem)
            .map(moved)
            .collect(),
        removals,
        log,
    })
}

/// The combined stack of the deepest call chain fits in 512 bytes
/// (`check_max_stack_depth`); each frame counts rounded up to 16 bytes.
/// Tracing programs (kprobe, tracepoint, perf event, raw tracepoint) give
/// frames of 64 bytes or more a private stack since Linux 6.13: those only
/// need to fit in 512 bytes on their own.
fn check_stack_depths(env: &Env) -> Result<(), Fail> {
    use uapi::ProgType::*;
    let private = matches!(
        env.prog_type,
        Kprobe | Tracepoint | PerfEvent | RawTracepoint
    );
    walk_stack(env, private, 0, 0, 1, &mut Vec::new())
}

fn walk_stack(
    env: &Env,
    private: bool,
    sub: usize,
    depth: usize,
    frames: usize,
    seen: &mut Vec<usize>,
) -> Result<(), Fail> {
    // Exploration already stops static chains this deep; calls of global
    // functions, verified one by one, are only counted here. (The kernel
    // counts frames from 0 for the main program, hence `frames - 1`.)
    if frames > uapi::MAX_CALL_FRAMES {
        let msg = format!("the call stack of {} frames is too deep !", frames - 1);
        return Err(Fail::new(error::E2BIG, msg));
    }
    let own = env.stack_depth[sub].div_ceil(16) * 16;
    let d = if private && own >= 64 {
        if own > uapi::MAX_BPF_STACK {
            let msg = format!("stack size of subprog {sub} is {own}. Too large");
            return Err(Fail::new(error::EACCES, msg));
        }
        depth
    } else {
        depth + own
    };
    if d > uapi::MAX_BPF_STACK {
        return Err(Fail::new(
            error::EACCES,
            format!("combined stack size of {frames} calls is {d}. Too large"),
        ));
    }
    if seen.contains(&sub) {
        return Ok(());
    }
    seen.push(sub);
    let s = &env.prog.subprogs[sub];
    for pc in s.start..s.end {
        if let Some(isa::Insn::Call(isa::CallTarget::Local { rel })) = env.prog.insns[pc] {
            let t = (pc as i64 + 1 + rel as i64) as usize;
            if let Some(callee) = env.prog.subprog_at(t) {
                walk_stack(env, private, callee, d, frames + 1, seen)?;
            }
        }
    }
    seen.pop();
    Ok(())
}
