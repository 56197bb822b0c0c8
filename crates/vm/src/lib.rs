//! The eBPF interpreter of oxbpf: kernel semantics, two memory modes, the
//! helper ABI shared with the JIT.
//!
//! # Using it
//!
//! ```
//! use oxbpf_vm::{HelperRegistry, Machine, PrepareOptions, Program, RegionKind, RunEnv};
//!
//! // mov r0, r2 ; exit   (r2 = length of the memory)
//! let bytes = [0xbf, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let helpers = HelperRegistry::with_builtins();
//! let prog = Program::from_bytes(&bytes, &PrepareOptions::new(&helpers)).unwrap();
//!
//! let mut mem = [0u8; 8];
//! let mut env = RunEnv::new();
//! let addr = env.add_region(&mut mem, RegionKind::Context);
//! let mut vm = Machine::new();
//! assert_eq!(vm.run(&prog, &mut env, &[addr, 8]).unwrap(), 8);
//! ```
//!
//! # How it works
//!
//! 1. **Preparation** ([`Program::prepare`]) takes the typed instructions of
//!    `isa` (bytes are decoded there, with the kernel's checks on reserved
//!    fields) and lowers each to an op of a flat internal form: one enum
//!    variant per operation, width and operand kind, immediates converted,
//!    jump targets absolute and validated, helper numbers resolved to
//!    function pointers through the host's [`HelperRegistry`], pseudo `lddw`
//!    values resolved through the loader's [`Resolver`]. Everything that can
//!    be refused statically is refused here, naming the instruction.
//! 2. **Running** ([`Machine::run`]) is a loop over that array with one
//!    `match` per instruction (`interp::exec`). A [`Machine`] holds the
//!    stack of 8 frames × 512 bytes and the callers' saved registers and is
//!    reused across runs; a [`RunEnv`] holds what the program may touch.
//! 3. **Memory** is addressed with real host addresses, as in the kernel. In
//!    the default *checked* mode every access is validated against the run's
//!    [`Region`]s; in *unchecked* mode ([`Program::assume_verified`],
//!    `unsafe`, for programs a verifier accepted) addresses are used as they
//!    are. See [`memory`].
//! 4. **Helpers** are `extern "C"` functions of `r1`–`r5` and the
//!    environment ([`HelperFn`]), so the JIT will call the very same
//!    functions. See [`helpers`].
//!
//! # Semantics
//!
//! Exactly the kernel's: 32-bit ALU results zero-extend; division by zero
//! gives 0 and modulo by zero leaves the destination (its low half,
//! zero-extended, at 32 bits); signed division and modulo wrap on
//! `INT_MIN / -1` instead of trapping; shift counts are masked to the width;
//! atomics are real atomic instructions (so workers sharing a map see each
//! other); `BPF_ABS`/`BPF_IND` read big-endian from the packet
//! ([`RunEnv::set_packet`]) and end the program with r0 = 0 when out of
//! bounds; bpf-to-bpf calls preserve r6–r9 and give each frame its own
//! stack, up to [`uapi::MAX_CALL_FRAMES`] frames; `bpf_tail_call` goes
//! through a [`TailCallHook`], at most [`uapi::MAX_TAIL_CALL_CNT`] times; an
//! instruction budget ([`Machine::set_budget`]) stops runaway programs.

pub mod ctx;
mod env;
mod error;
pub mod helpers;
pub mod host;
mod interp;
mod lower;
pub mod memory;
mod op;
mod program;
pub mod test_run;
#[cfg(test)]
mod tests;

pub use env::{PacketView, RunEnv, TailCallHook};
pub use error::{AccessKind, BoxError, HelperFault, PrepareError, VmError};
pub use helpers::{HelperFn, HelperRegistry};
pub use host::{HelperHost, TraceSink};
pub use interp::callbacks;
pub use interp::{Machine, DEFAULT_BUDGET};
pub use memory::{Region, RegionKind};
pub use program::{subprog_addr, ExecMode, PrepareOptions, Program, Resolver, SUBPROG_ADDR_TAG};
