//! What compiled code sees at run time: the run context it keeps in `r12`,
//! and the few Rust functions it calls for slow paths (tail calls, legacy
//! packet loads outside the fast case).
//!
//! # The run context
//!
//! [`RunCtx`] lives on the Rust stack of [`crate::JitProgram::run`] for the
//! duration of one run; compiled code addresses its fields at fixed offsets
//! (the `OFF_*` constants, computed with `offset_of!` so they cannot drift
//! from the struct). It holds the environment pointer that helpers receive
//! in `r9`, the packet of `BPF_ABS`/`BPF_IND`, the stack bounds that make
//! bpf-to-bpf call depth and tail-call placement checkable with one compare,
//! and the error a run stopped with. Fields after `saved` are only touched
//! from Rust.

use crate::program::JitProgram;
use std::mem::MaybeUninit;
use std::sync::Arc;
use uapi::MAX_TAIL_CALL_CNT;
use vm::RunEnv;

/// Resolves `bpf_tail_call` for compiled programs: the compiled program at
/// `index` of the prog array whose address the program passed. The map
/// runtime implements it beside the interpreter's [`vm::TailCallHook`];
/// `None` makes the tail call fail and the program go on, as in the kernel.
pub trait TailCalls {
    fn lookup(&self, prog_array: u64, index: u32) -> Option<Arc<JitProgram>>;
}

/// How a run ended, as compiled code reports it in [`RunCtx::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Status {
    Ok = 0,
    /// A helper called `RunEnv::fault`; `aux` is the helper number.
    HelperFault = 1,
    /// `callx` to a value that is no subprogram; `aux` is the value.
    BadCallTarget = 2,
    /// A bpf-to-bpf call beyond `MAX_CALL_FRAMES`.
    CallDepth = 3,
    /// `bpf_tail_call` from a bpf-to-bpf callee.
    TailCallInCallback = 4,
    /// A legacy packet load out of bounds: the run ends with r0 = 0 (from
    /// any depth, callbacks included).
    End = 5,
}

impl Status {
    pub(crate) fn from_u32(v: u32) -> Option<Status> {
        Some(match v {
            0 => Status::Ok,
            1 => Status::HelperFault,
            2 => Status::BadCallTarget,
            3 => Status::CallDepth,
            4 => Status::TailCallInCallback,
            5 => Status::End,
            _ => return None,
        })
    }
}

/// The per-run context (see the module documentation).
#[repr(C)]
pub(crate) struct RunCtx<'h> {
    /// `&mut RunEnv` as a raw pointer: what helpers get in `r9`.
    pub env: *mut RunEnv<'static>,
    /// The environment's fault flag (`RunEnv::FAULT_PENDING_OFFSET`).
    pub fault_flag: *const u8,
    /// `rsp` in the entry trampoline after it saved the callee-saved
    /// registers, just before it calls function 0: the base of the uniform
    /// frames, from which tail calls tell their depth.
    pub exit_rsp: u64,
    /// Where errors unwind to: the `rsp` that points at the return address
    /// of the innermost machine-code call from Rust (the trampoline's call
    /// of function 0, or a callback stub's call of the callback), so that
    /// unwinding is `mov rsp, [unwind_rsp]; ret`.
    pub unwind_rsp: u64,
    /// Set just before a callback helper's shim is called: `rsp` of the
    /// calling body minus `call_limit`, i.e. how much deeper calls may go
    /// (negative: the callback would exceed `MAX_CALL_FRAMES`).
    pub cb_headroom: i64,
    /// A bpf-to-bpf call from a frame whose `rsp` is below this would exceed
    /// `MAX_CALL_FRAMES`.
    pub call_limit: u64,
    /// The packet of the legacy loads (0/0 without one), refreshed after
    /// helper calls in programs that use those loads.
    pub pkt_start: u64,
    pub pkt_len: u64,
    /// A [`Status`].
    pub status: u32,
    /// Slot of the instruction that stopped the run.
    pub err_pc: u32,
    /// Helper number or call target of the error.
    pub aux: u64,
    /// r0–r5 across a tail-call attempt (restored when it fails).
    pub saved: [u64; 6],
    /// Successful tail calls so far.
    pub tail_calls: u32,
    pub hook: Option<&'h dyn TailCalls>,
    /// The programs tail-called into, kept alive until the run ends (empty,
    /// and so free to make and drop, in the common run without tail calls).
    pub held: Vec<Arc<JitProgram>>,
    /// The `deep_return` stub of the first program that made a tail call
    /// from a bpf-to-bpf callee in this run (0: none yet); see `deep`.
    pub deep_stub: u64,
    /// For a tail call from a callee at depth d (1-based slot d - 1): the
    /// caller's rbx, rbp, r13, r14, r15 (BPF r6, r10, r7–r9) and the return
    /// address into it. The call replaces that return address with
    /// `deep_stub`, which puts the registers back when the target returns
    /// — whatever the target's function 0 saved or not — and goes on in
    /// the caller. Written before it is read, so left uninitialised.
    pub deep: MaybeUninit<[[u64; 6]; uapi::MAX_CALL_FRAMES]>,
}

macro_rules! off {
    ($f:ident) => {
        std::mem::offset_of!(RunCtx<'static>, $f) as i32
    };
}
pub(crate) const OFF_ENV: i32 = off!(env);
pub(crate) const OFF_FAULT_FLAG: i32 = off!(fault_flag);
pub(crate) const OFF_EXIT_RSP: i32 = off!(exit_rsp);
pub(crate) const OFF_UNWIND_RSP: i32 = off!(unwind_rsp);
pub(crate) const OFF_CB_HEADROOM: i32 = off!(cb_headroom);
pub(crate) const OFF_CALL_LIMIT: i32 = off!(call_limit);
pub(crate) const OFF_PKT_START: i32 = off!(pkt_start);
pub(crate) const OFF_PKT_LEN: i32 = off!(pkt_len);
pub(crate) const OFF_STATUS: i32 = off!(status);
pub(crate) const OFF_ERR_PC: i32 = off!(err_pc);
pub(crate) const OFF_AUX: i32 = off!(aux);
pub(crate) const OFF_SAVED: i32 = off!(saved);
pub(crate) const OFF_DEEP_STUB: i32 = off!(deep_stub);
pub(crate) const OFF_DEEP: i32 = off!(deep);

impl<'h> RunCtx<'h> {
    #[inline(always)]
    pub(crate) fn new(env: &mut RunEnv<'_>, hook: Option<&'h dyn TailCalls>) -> Self {
        let (pkt_start, pkt_len) = env.packet().map_or((0, 0), |p| (p.start, p.len));
        let env: *mut RunEnv<'_> = env;
        let env = env.cast::<RunEnv<'static>>();
        RunCtx {
            env,
            fault_flag: env
                .cast::<u8>()
                .wrapping_add(RunEnv::FAULT_PENDING_OFFSET)
                .cast_const(),
            exit_rsp: 0,
            unwind_rsp: 0,
            cb_headroom: 0,
            call_limit: 0,
            pkt_start,
            pkt_len,
            status: Status::Ok as u32,
            err_pc: 0,
            aux: 0,
            saved: [0; 6],
            tail_calls: 0,
            hook,
            held: Vec::new(),
            deep_stub: 0,
            deep: MaybeUninit::uninit(),
        }
    }
}

impl RunCtx<'_> {
    /// Readies the context for the next repetition of a run that ended
    /// without error: the tail-call count starts again, the programs
    /// tail-called into are let go, and the packet of the legacy loads is
    /// read again (a helper may have moved it; it stays as the last
    /// repetition left it, as the kernel's context does).
    #[inline]
    pub(crate) fn next_run(&mut self) {
        self.tail_calls = 0;
        // Its program may be one of those let go below.
        self.deep_stub = 0;
        if !self.held.is_empty() {
            self.held.clear();
        }
        // SAFETY: `env` is the environment the run wrapper borrowed for the
        // context's whole life; no compiled code runs during this read.
        let (start, len) = unsafe { (*self.env).packet() }.map_or((0, 0), |p| (p.start, p.len));
        self.pkt_start = start;
        self.pkt_len = len;
    }
}

/// `bpf_tail_call(ctx, prog_array, index)` (called with `rdi` = the run
/// context, `rsi` = r2, `rdx` = r3): the address to jump to (the target's
/// function 0), or 0 when the tail call fails — too many already, no hook,
/// or nothing at that index.
///
/// # Safety
/// `ctx` is the live run context of the calling program.
pub(crate) unsafe extern "C" fn tail_call(ctx: *mut RunCtx<'_>, map: u64, index: u64) -> u64 {
    // SAFETY: compiled code passes its `r12`, the context the run wrapper
    // created and keeps alive and otherwise untouched during the run.
    let ctx = unsafe { &mut *ctx };
    if ctx.tail_calls >= MAX_TAIL_CALL_CNT {
        return 0;
    }
    let Some(hook) = ctx.hook else { return 0 };
    // The hook is host code: a panic must not unwind into machine code
    // (it would abort); treat it as a failed lookup.
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hook.lookup(map, index as u32)
    }));
    let Ok(Some(next)) = found else { return 0 };
    let addr = next.tail_entry();
    ctx.held.push(next);
    ctx.tail_calls += 1;
    addr
}

/// Value of a failed packet load in [`packet_load`] (bit 63 set; a loaded
/// value has at most 32 bits).
pub(crate) const PACKET_MISS: u64 = u64::MAX;

/// The slow path of `BPF_ABS`/`BPF_IND` (negative offsets relative to the
/// link-layer or network header, or an access the fast bounds check
/// refused): the big-endian value, or [`PACKET_MISS`].
///
/// # Safety
/// `ctx` is the live run context of the calling program.
pub(crate) unsafe extern "C" fn packet_load(ctx: *mut RunCtx<'_>, k: i64, size: u64) -> u64 {
    // SAFETY: as in `tail_call`; the environment is not borrowed elsewhere
    // while compiled code runs outside a helper.
    let env = unsafe { &*(*ctx).env };
    // The interpreter's own load: the same reading of `k` (`SKF_NET_OFF`,
    // `SKF_LL_OFF`) and the same bounds. `size` is 1, 2 or 4.
    let size = match size {
        1 => isa::Size::B,
        2 => isa::Size::H,
        _ => isa::Size::W,
    };
    env.load_packet(size, k as i32).unwrap_or(PACKET_MISS)
}

/// After a helper call in a program with legacy packet loads: re-reads the
/// packet from the environment (a helper may have changed it) and returns
/// `r0` unchanged.
///
/// # Safety
/// `ctx` is the live run context of the calling program.
pub(crate) unsafe extern "C" fn refresh_packet(ctx: *mut RunCtx<'_>, r0: u64) -> u64 {
    // SAFETY: as in `packet_load`.
    let ctx = unsafe { &mut *ctx };
    // SAFETY: as in `packet_load`.
    let env = unsafe { &*ctx.env };
    (ctx.pkt_start, ctx.pkt_len) = env.packet().map_or((0, 0), |p| (p.start, p.len));
    r0
}

/// What a callback shim hands the program's callback stub (in `r9`, the
/// sixth argument): the run context, the callback's machine address and
/// the call-depth headroom of the helper's caller. It lives in the shim's
/// Rust frame, so nested callback helpers each have their own.
#[repr(C)]
pub(crate) struct CbFrame {
    pub ctx: *mut RunCtx<'static>,
    pub target: u64,
    pub headroom: i64,
}

pub(crate) const OFF_CB_CTX: i32 = std::mem::offset_of!(CbFrame, ctx) as i32;
pub(crate) const OFF_CB_TARGET: i32 = std::mem::offset_of!(CbFrame, target) as i32;
pub(crate) const OFF_CB_HEADROOM_ARG: i32 = std::mem::offset_of!(CbFrame, headroom) as i32;

/// The callback stub of a program (see `codegen::call`): runs the callback
/// at `frame.target` with r1–r5 in a new frame and returns its r0, or
/// returns early (with the run context's status set) when the run stops
/// inside it.
type CbEntry = unsafe extern "sysv64" fn(u64, u64, u64, u64, u64, *const CbFrame) -> u64;

/// Invokes the callback once: its r0, or `Err` when the run must stop
/// (the status is already set).
///
/// # Safety
/// `stub` is the callback stub of the program whose callback helper
/// called the shim; `frame.ctx` its live run context.
unsafe fn invoke(stub: CbEntry, frame: &CbFrame, args: vm::callbacks::Args) -> Result<u64, ()> {
    let ctx = frame.ctx;
    if frame.headroom < 0 {
        // SAFETY: the run context is live; compiled code is not running.
        unsafe { (*ctx).status = Status::CallDepth as u32 };
        return Err(());
    }
    // SAFETY: the stub has exactly this signature; it saves every register
    // the System V ABI wants preserved and returns here even when the run
    // stops inside the callback (errors unwind to the stub).
    let r0 = unsafe { stub(args[0], args[1], args[2], args[3], args[4], frame) };
    // SAFETY: as above; read through the raw pointer, no reference is kept
    // while compiled code runs.
    if unsafe { (*ctx).status } != Status::Ok as u32 {
        return Err(());
    }
    Ok(r0)
}

/// `bpf_loop(nr_loops, callback, callback_ctx, flags)`, called by compiled
/// code with the callback already turned into its machine address, the
/// program's callback stub in `r8` and the run context in `r9`.
///
/// # Safety
/// Called only by compiled code, with its live run context and its stub.
pub(crate) unsafe extern "C" fn loop_shim(
    nr_loops: u64,
    target: u64,
    callback_ctx: u64,
    flags: u64,
    stub: u64,
    ctx: *mut RunCtx<'static>,
) -> u64 {
    // SAFETY: the run context is live (the caller's contract).
    let headroom = unsafe { (*ctx).cb_headroom };
    let frame = CbFrame {
        ctx,
        target,
        headroom,
    };
    // SAFETY: `stub` is the address of the program's callback stub.
    let stub: CbEntry = unsafe { std::mem::transmute(stub as usize) };
    // SAFETY: forwarded from the caller.
    vm::callbacks::bpf_loop(nr_loops, callback_ctx, flags, |a| unsafe {
        invoke(stub, &frame, a)
    })
    .unwrap_or(0)
}

/// `bpf_for_each_map_elem(map, callback, callback_ctx, flags)`, called as
/// [`loop_shim`].
///
/// # Safety
/// As [`loop_shim`].
pub(crate) unsafe extern "C" fn for_each_shim(
    map: u64,
    target: u64,
    callback_ctx: u64,
    flags: u64,
    stub: u64,
    ctx: *mut RunCtx<'static>,
) -> u64 {
    // SAFETY: the run context is live; the environment is not borrowed
    // elsewhere while compiled code calls into Rust, and this borrow ends
    // before any callback runs.
    let started = unsafe { vm::callbacks::MapWalk::start(&mut *(*ctx).env, map, flags) };
    let mut walk = match started {
        Ok(vm::callbacks::WalkStart::Walk(w)) => w,
        Ok(vm::callbacks::WalkStart::Return(r0)) => return r0,
        Err(fault) => {
            // SAFETY: as above.
            unsafe {
                (*(*ctx).env).fault(fault);
                (*ctx).status = Status::HelperFault as u32;
                (*ctx).aux = uapi::helpers::id::FOR_EACH_MAP_ELEM as u64;
            }
            return 0;
        }
    };
    // SAFETY: as in `loop_shim`.
    let headroom = unsafe { (*ctx).cb_headroom };
    let frame = CbFrame {
        ctx,
        target,
        headroom,
    };
    // SAFETY: `stub` is the address of the program's callback stub.
    let stub: CbEntry = unsafe { std::mem::transmute(stub as usize) };
    // SAFETY: forwarded from the caller.
    walk.run(callback_ctx, |a| unsafe { invoke(stub, &frame, a) })
        .unwrap_or(0)
}
