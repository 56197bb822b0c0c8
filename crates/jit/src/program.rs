//! [`JitProgram`]: compile once, run any number of times on any number of
//! threads.

use crate::buffer::Layout;
use crate::codegen::{self, analysis, GenOptions, PassOutput};
use crate::error::CompileError;
use crate::memory::{ExecutableCode, WritableCode};
use crate::runtime::{RunCtx, Status, TailCalls};
use isa::{Insn, RawInsn};
use uapi::HelperId;
use vm::{HelperFault, PrepareOptions, RegionKind, RunEnv, VmError};

/// Passes that may still shrink the code before the next one is frozen
/// (repeats the previous choices; see [`crate::buffer`]). Real programs
/// settle in three to five.
const MAX_FREE_PASSES: usize = 16;

/// How to compile.
#[derive(Clone, Copy)]
pub struct CompileOptions<'a> {
    /// Helpers, `lddw` resolver and `callx` conventions, exactly as the
    /// interpreter takes them, so both engines resolve a program alike.
    pub prepare: PrepareOptions<'a>,
    /// Constant blinding (see [`crate::blind`]): for programs from
    /// untrusted users, as the kernel's `bpf_jit_harden`.
    pub blind_constants: bool,
    /// Use BMI2 shifts when the CPU has them (the default); `false` forces
    /// the `cl` forms.
    pub bmi2: bool,
}

impl<'a> CompileOptions<'a> {
    /// The interpreter's options, no blinding, BMI2 if the CPU has it.
    pub fn new(prepare: PrepareOptions<'a>) -> Self {
        CompileOptions {
            prepare,
            blind_constants: false,
            bmi2: std::arch::is_x86_feature_detected!("bmi2"),
        }
    }
}

/// The machine-code entry: r1–r5, then the run context.
type Entry = unsafe extern "sysv64" fn(u64, u64, u64, u64, u64, *mut RunCtx<'_>) -> u64;

/// A program compiled to x86-64, in sealed (read-only, executable) memory
/// that is unmapped when the program is dropped.
///
/// Immutable once built: runs on several threads at once are fine, each
/// with its own [`RunEnv`].
pub struct JitProgram {
    code: ExecutableCode,
    func0: u32,
    /// Nothing in the program touches the environment or can stop early:
    /// runs skip the run context entirely.
    simple: bool,
    slot_offsets: Vec<u32>,
    /// Maps the code addresses directly (inlined array lookups): kept
    /// alive as long as the code.
    _maps: Vec<std::sync::Arc<maps::Map>>,
}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram")
            .field("addr", &format_args!("{:#x}", self.code.addr()))
            .field("len", &self.code.bytes().len())
            .field("slots", &self.slot_offsets.len())
            .finish()
    }
}

impl JitProgram {
    /// Compiles a program that no verifier checked.
    ///
    /// There are no run-time memory checks (and no instruction budget) in
    /// compiled code: loops end because a verifier proved they do, accesses
    /// stay in bounds because a verifier proved they do. The safe entry
    /// point takes the verifier's result; this one is for tests, the
    /// conformance plugin and hosts that vouch for their programs.
    ///
    /// # Safety
    /// Every run must satisfy what a verifier would have proved: each load,
    /// store and atomic stays within memory valid for it (stack, context,
    /// packet, map values, helper-returned memory), atomics are naturally
    /// aligned, helper arguments meet the helpers' contracts, and the
    /// program terminates. (The contract of [`vm::Program::assume_verified`].)
    pub unsafe fn compile_trusted(
        insns: &[Insn],
        opts: &CompileOptions<'_>,
    ) -> Result<JitProgram, CompileError> {
        let an = analysis::analyze(insns, &opts.prepare)?;
        let gen = GenOptions {
            blind_seed: opts.blind_constants.then(crate::blind::random_seed),
            bmi2: opts.bmi2,
        };
        // Pass 1 knows neither offsets nor the address; it bounds the size.
        let first = codegen::pass(&an, gen, None, false, None)?;
        let anchor = crate::runtime::tail_call as *const () as usize;
        let mem =
            WritableCode::new(first.code.len(), Some(anchor)).map_err(CompileError::Memory)?;
        let base = Some(mem.addr());
        let (mut len, mut layout): (usize, Layout) = (first.code.len(), first.layout);
        let mut passes = 1;
        let out: PassOutput = loop {
            let freeze = passes > MAX_FREE_PASSES;
            let out = codegen::pass(&an, gen, Some(&layout), freeze, base)?;
            passes += 1;
            if out.code.len() == len || freeze {
                break out;
            }
            (len, layout) = (out.code.len(), out.layout);
        };
        let code = mem.seal(&out.code).map_err(CompileError::Memory)?;
        Ok(JitProgram {
            code,
            func0: out.func0,
            simple: out.simple,
            slot_offsets: out.slot_offsets,
            _maps: an.maps.clone(),
        })
    }

    /// Compiles a program the verifier accepted: its instructions after the
    /// verifier's rewrites (context accesses in oxbpf's runtime layout),
    /// with the `lddw` map forms resolved through
    /// `opts.prepare.resolver` as for the interpreter.
    ///
    /// Safe because the verifier proved, for runs with a context of the
    /// program type it checked, what [`JitProgram::compile_trusted`]
    /// demands. What remains is the host's wiring, which is not `unsafe`
    /// to get right but must be: the resolver hands out the maps whose
    /// metadata the verifier was given, and the registry's helpers honour
    /// their kernel prototypes (as the runtime's do).
    pub fn compile_verified(
        prog: &verifier::VerifiedProgram,
        opts: &CompileOptions<'_>,
    ) -> Result<JitProgram, CompileError> {
        let insns: Vec<Insn> = isa::decode_program(prog.insns())
            .map_err(vm::PrepareError::from)?
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        // SAFETY: the verifier accepted exactly these instructions; see the
        // documentation for the host's part.
        unsafe { Self::compile_trusted(&insns, opts) }
    }

    /// The code as `bpftool prog dump jited` prints it (see
    /// [`crate::dump_jited`]): offsets from the start of the image,
    /// branch targets at the code's real addresses; with `opcodes`, the
    /// bytes of each instruction on the line below.
    pub fn dump_jited(&self, opcodes: bool) -> String {
        crate::dump_jited(self.code.bytes(), self.code.addr(), opcodes)
    }

    /// Decodes and compiles a program given as bytes (8 per slot).
    ///
    /// # Safety
    /// As [`JitProgram::compile_trusted`].
    pub unsafe fn from_bytes_trusted(
        bytes: &[u8],
        opts: &CompileOptions<'_>,
    ) -> Result<JitProgram, CompileError> {
        let raw = RawInsn::slice_from_bytes(bytes).map_err(vm::PrepareError::from)?;
        let insns: Vec<Insn> = isa::decode_program(&raw)
            .map_err(vm::PrepareError::from)?
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        // SAFETY: forwarded to the caller.
        unsafe { Self::compile_trusted(&insns, opts) }
    }

    /// The machine code.
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }

    /// Where the code of each slot begins (`None` for the second slot of
    /// an `lddw`), for listings that interleave BPF and x86.
    pub fn slot_offset(&self, slot: usize) -> Option<u32> {
        self.slot_offsets
            .get(slot)
            .copied()
            .filter(|&o| o != u32::MAX)
    }

    /// Address of function 0, where tail calls enter.
    pub(crate) fn tail_entry(&self) -> u64 {
        self.code.addr() + self.func0 as u64
    }

    /// Runs the program with `args` in r1, r2, … (at most five) and returns
    /// r0.
    #[inline]
    pub fn run(&self, env: &mut RunEnv<'_>, args: &[u64]) -> Result<u64, VmError> {
        if self.simple && args.len() <= 5 {
            // The common short run, inlined into the caller: no run
            // context, one indirect call.
            return Ok(self.run_simple(args));
        }
        self.run_with_tail_calls(env, args, None)
    }

    /// Runs a simple program (see `Analysis::simple`).
    #[inline(always)]
    fn run_simple(&self, args: &[u64]) -> u64 {
        // Element by element: a variable-length copy would be a `memcpy`
        // call, a good part of the cost of a short run.
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        // SAFETY: offset 0 of a simple program is a plain function of this
        // signature that reads no run context and calls nothing (see
        // `Analysis::simple`); whoever built the program vouched for its
        // memory accesses (`compile_trusted`) or the verifier proved them.
        let entry: Entry = unsafe { std::mem::transmute(self.code.addr() as usize) };
        // SAFETY: as above.
        unsafe { entry(arg(0), arg(1), arg(2), arg(3), arg(4), std::ptr::null_mut()) }
    }

    /// [`JitProgram::run`] with a resolver for `bpf_tail_call`.
    pub fn run_with_tail_calls(
        &self,
        env: &mut RunEnv<'_>,
        args: &[u64],
        tail_calls: Option<&dyn TailCalls>,
    ) -> Result<u64, VmError> {
        self.run_repeated(env, args, tail_calls, 1)
    }

    /// Runs the program `repeat` times (at least once) on the same
    /// arguments and environment, stopping at the first error, and returns
    /// the last r0: `BPF_PROG_TEST_RUN`'s loop. The run context is set up
    /// once for all repetitions (the kernel's loop, too, only calls the
    /// program and checks the time), so a repetition costs the call of the
    /// compiled code and a status check.
    pub fn run_repeated(
        &self,
        env: &mut RunEnv<'_>,
        args: &[u64],
        tail_calls: Option<&dyn TailCalls>,
        repeat: u32,
    ) -> Result<u64, VmError> {
        if args.len() > 5 {
            return Err(VmError::TooManyArgs { count: args.len() });
        }
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        let a = [arg(0), arg(1), arg(2), arg(3), arg(4)];
        if self.simple {
            let mut r0 = self.run_simple(&a);
            for _ in 1..repeat {
                r0 = self.run_simple(&a);
            }
            return Ok(r0);
        }
        // SAFETY: the program was compiled by `compile_trusted`, whose
        // caller promised the verifier's guarantees for every run.
        let mark = unsafe { env.begin_compiled_run() };
        let mut ctx = RunCtx::new(env, tail_calls);
        // SAFETY: offset 0 of the sealed code is the entry trampoline,
        // generated for exactly this signature; `ctx` outlives the calls and
        // compiled code touches only its documented fields; the environment
        // pointer in it comes from the `&mut` borrow, which is not used
        // again until the last call returns (between calls the environment
        // is reached through that pointer only).
        let entry: Entry = unsafe { std::mem::transmute(self.code.addr() as usize) };
        let mut left = repeat.max(1);
        let r0 = loop {
            // SAFETY: as above.
            let r0 = unsafe { entry(a[0], a[1], a[2], a[3], a[4], &mut ctx) };
            left -= 1;
            if left == 0 || ctx.status != Status::Ok as u32 {
                break r0;
            }
            ctx.next_run();
            // SAFETY: `ctx.env` is the environment borrowed above, not
            // otherwise reachable while the context lives; no compiled code
            // runs during this call.
            unsafe { (*ctx.env).next_compiled_run(mark) };
        };
        let (status, pc, aux) = (ctx.status, ctx.err_pc as usize, ctx.aux);
        drop(ctx);
        let fault = env.end_compiled_run(mark);
        if status == Status::Ok as u32 {
            return Ok(r0);
        }
        Self::error(status, pc, aux, fault)
    }

    /// The error a run that stopped with `status` reports.
    #[cold]
    fn error(status: u32, pc: usize, aux: u64, fault: Option<HelperFault>) -> Result<u64, VmError> {
        match Status::from_u32(status) {
            Some(Status::Ok | Status::End) => Ok(0),
            Some(Status::HelperFault) => Err(VmError::Helper {
                pc,
                helper: HelperId(aux as u32),
                fault: fault.unwrap_or_else(|| HelperFault::Other("fault lost".into())),
            }),
            Some(Status::BadCallTarget) => Err(VmError::BadCallTarget { pc, value: aux }),
            Some(Status::CallDepth) => Err(VmError::CallDepthExceeded {
                pc,
                max: uapi::MAX_CALL_FRAMES,
            }),
            Some(Status::TailCallInCallback) => Err(VmError::TailCallInCallback { pc }),
            None => Err(VmError::Helper {
                pc,
                helper: HelperId(0),
                fault: HelperFault::Other(format!("internal: run status {status}")),
            }),
        }
    }

    /// Runs the program over a plain memory buffer, the convention of the
    /// conformance suite and `oxbpf run` (as [`vm::Machine::run_on_memory`]):
    /// r1 = address of an 8-aligned copy of `mem` (0 when empty), r2 = its
    /// length, the same bytes the packet of legacy loads; what the program
    /// writes is copied back.
    pub fn run_on_memory(&self, mem: &mut [u8]) -> Result<u64, VmError> {
        let mut buf = vec![0u8; mem.len() + 7];
        let skew = buf.as_ptr().align_offset(8).min(7);
        let copy = &mut buf[skew..skew + mem.len()];
        copy.copy_from_slice(mem);
        let len = copy.len() as u64;
        let mut env = RunEnv::new();
        let addr = if len == 0 {
            0
        } else {
            let addr = env.add_region(copy, RegionKind::Context);
            env.set_packet(vm::PacketView {
                start: addr,
                len,
                network_offset: uapi::ctx::ETH_HLEN,
                mac_len: 0,
            });
            addr
        };
        let result = self.run(&mut env, &[addr, len]);
        drop(env);
        mem.copy_from_slice(&buf[skew..skew + mem.len()]);
        result
    }
}
