//! The interpreter: [`Machine`] holds what a run needs besides the program
//! and the environment — the stack of all frames, the saved state of callers,
//! the instruction budget — and is reused from run to run on one worker, so a
//! run allocates nothing.
//!
//! Stack layout: one allocation of [`uapi::MAX_CALL_FRAMES`] × 512 bytes.
//! Frame 0 is the top 512 bytes, frame k the 512 bytes below frame k-1; `r10`
//! in frame k is the top of its 512 bytes. In checked mode the accessible
//! stack is every live frame (a callee may write through a pointer into its
//! caller's frame, as in the kernel), i.e. from the bottom of the deepest
//! frame to the top of frame 0. The stack is not cleared between runs: as in
//! the kernel, its contents at entry are unspecified (a verifier rejects
//! reads of stack slots the program did not write).
//!
//! Callbacks (`bpf_loop`, `bpf_for_each_map_elem`, see [`callbacks`]) run
//! as nested bpf-to-bpf calls: the dispatch loop calls itself for each
//! invocation, in a new frame that counts against the frame limit, and the
//! nested loop returns when that frame exits.

mod alu;
pub mod callbacks;
mod exec;
mod mem;

use crate::env::RunEnv;
use crate::error::VmError;
use crate::memory::{Checked, Unchecked};
use crate::program::{ExecMode, Program};
use std::sync::Arc;
use uapi::{MAX_BPF_STACK, MAX_CALL_FRAMES};

/// The default instruction budget of a run (about a second of work).
pub const DEFAULT_BUDGET: u64 = 1_000_000_000;

/// What a caller's frame keeps across a bpf-to-bpf call.
#[derive(Clone, Copy, Default)]
pub(crate) struct Frame {
    /// Slot to resume at.
    ret: u32,
    /// The caller's r6–r9, which the callee may clobber.
    saved: [u64; 4],
    /// The caller's r10.
    fp: u64,
}

/// The register file: r0–r10, in an array of 256 so that the dispatch loop
/// indexes it with the `u8` register number directly — no mask, no bounds
/// check (the compiler knows a `u8` is below 256). It lives in the
/// [`Machine`], so a run does not initialise 2 KiB.
pub(crate) type RegFile = [u64; 256];

/// The interpreter state of one run, shared by the dispatch loop and the
/// tail-call driver.
pub(crate) struct Cpu {
    /// Current call depth (0 = main frame).
    depth: usize,
    /// One past the top of frame 0.
    stack_top: u64,
    /// Slots executed so far.
    executed: u64,
    budget: u64,
    /// Successful tail calls so far.
    tail_calls: u32,
    /// Callbacks (`bpf_loop`, `bpf_for_each_map_elem`) being run: tail
    /// calls are refused inside them, as the kernel's verifier refuses
    /// them there.
    in_callback: u32,
}

/// How a program segment ended.
pub(crate) enum Exit {
    /// `exit` from the segment's base frame.
    Return(u64),
    /// The whole run ends with this `r0` wherever it is (a legacy packet
    /// load out of bounds), also from inside a callback.
    End(u64),
    TailCall(Arc<Program>),
}

/// A reusable interpreter instance (one per worker thread).
pub struct Machine {
    regs: Box<RegFile>,
    stack: Box<[u64]>,
    frames: [Frame; MAX_CALL_FRAMES],
    budget: u64,
    executed: u64,
}

impl Default for Machine {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("budget", &self.budget)
            .field("executed", &self.executed)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine with a zeroed stack and [`DEFAULT_BUDGET`].
    pub fn new() -> Self {
        Machine {
            regs: Box::new([0; 256]),
            stack: vec![0u64; MAX_CALL_FRAMES * MAX_BPF_STACK / 8].into_boxed_slice(),
            frames: [Frame::default(); MAX_CALL_FRAMES],
            budget: DEFAULT_BUDGET,
            executed: 0,
        }
    }

    /// Sets how many instruction slots one run may execute. The budget is
    /// checked at every taken jump, call and return, so a run stops at the
    /// first such transfer after exceeding it (straight-line code between
    /// two transfers is bounded by the program's length anyway). `lddw`
    /// counts as its two slots.
    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
    }

    /// The budget of each run.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Slots executed by the last run (also when it failed).
    pub fn executed(&self) -> u64 {
        self.executed
    }

    /// Runs `prog` with `args` in r1, r2, … (at most five), r10 at the top of
    /// the stack, and returns r0.
    ///
    /// Regions that helpers grant during the run are withdrawn at its end.
    /// The mode is the program's; a tail call from an unchecked program to a
    /// checked one fails (the program continues), the other way round runs
    /// the target checked.
    pub fn run(
        &mut self,
        prog: &Program,
        env: &mut RunEnv<'_>,
        args: &[u64],
    ) -> Result<u64, VmError> {
        if args.len() > 5 {
            return Err(VmError::TooManyArgs { count: args.len() });
        }
        let stack_top = self.stack.as_mut_ptr_range().end.expose_provenance() as u64;
        let mut cpu = Cpu {
            depth: 0,
            stack_top,
            executed: 0,
            budget: self.budget,
            tail_calls: 0,
            in_callback: 0,
        };
        // Registers start at 0 (but for the arguments and the frame pointer),
        // so runs are deterministic whatever ran before.
        let regs = &mut *self.regs;
        regs[..11].fill(0);
        for (r, &a) in regs[1..6].iter_mut().zip(args) {
            *r = a;
        }
        regs[10] = stack_top;
        env.set_stack(stack_top - MAX_BPF_STACK as u64, stack_top);
        env.checked = prog.mode == ExecMode::Checked;
        env.fault = None;
        let granted_from = env.mem.regions.len();

        let mut current: Option<Arc<Program>> = None;
        let result = loop {
            let p = current.as_deref().unwrap_or(prog);
            let step = match prog.mode {
                ExecMode::Checked => {
                    exec::exec::<Checked>(p, regs, &mut cpu, &mut self.frames, env, 0)
                }
                ExecMode::Unchecked => {
                    exec::exec::<Unchecked>(p, regs, &mut cpu, &mut self.frames, env, 0)
                }
            };
            match step {
                Ok(Exit::Return(r0) | Exit::End(r0)) => break Ok(r0),
                Ok(Exit::TailCall(next)) => current = Some(next),
                Err(e) => break Err(e),
            }
        };
        self.executed = cpu.executed;
        env.mem.regions.truncate(granted_from);
        env.checked = true;
        result
    }

    /// Runs `prog` over a plain memory buffer, the convention of the
    /// conformance suite, uBPF, rbpf and `oxbpf run`: r1 = address of a copy
    /// of `mem` aligned to 8 (0 when `mem` is empty), r2 = its length, and
    /// the same bytes are the packet of `BPF_ABS`/`BPF_IND` loads. What the
    /// program writes is copied back to `mem`.
    pub fn run_on_memory(&mut self, prog: &Program, mem: &mut [u8]) -> Result<u64, VmError> {
        // An 8-aligned copy, so that atomics on the memory are aligned as
        // they would be on a real context.
        let mut buf = vec![0u8; mem.len() + 7];
        let skew = buf.as_ptr().align_offset(8).min(7);
        let copy = &mut buf[skew..skew + mem.len()];
        copy.copy_from_slice(mem);
        let len = copy.len() as u64;
        let mut env = RunEnv::new();
        let addr = if len == 0 {
            0
        } else {
            let addr = env.add_region(copy, crate::RegionKind::Context);
            env.set_packet(crate::PacketView {
                start: addr,
                len,
                network_offset: uapi::ctx::ETH_HLEN,
                mac_len: 0,
            });
            addr
        };
        let result = self.run(prog, &mut env, &[addr, len]);
        drop(env);
        mem.copy_from_slice(&buf[skew..skew + mem.len()]);
        result
    }
}
