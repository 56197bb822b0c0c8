//! oxbpf: eBPF in user space. Load the `.o` files clang builds for Linux,
//! verify them with the kernel's rules, and run them with the kernel's
//! semantics — maps, helpers, contexts and test runs included.
//!
//! ```no_run
//! use oxbpf::{LoadOptions, Runtime};
//!
//! let rt = Runtime::new();
//! let obj = rt.load_file("prog.o", &LoadOptions::default())?;
//! let prog = obj.program("count_packets")?;
//! let mut ctx = [0u8; 64];
//! let r0 = prog.run_raw(&mut ctx)?;
//! println!("r0 = {r0}, map = {:?}", obj.map("counts")?.lookup(&0u32.to_le_bytes())?);
//! # Ok::<(), oxbpf::Error>(())
//! ```
//!
//! The pieces: [`Runtime`] (the registry of maps and programs by id, the
//! helpers, the trace sink, the worker count), [`Object`] (what a load
//! gave), [`Program`] and [`Map`]. Loading ([`Runtime::load_file`]) creates
//! the maps, patches map references, verifies each program with
//! `oxbpf-verifier` and prepares it for the engines; a program the verifier
//! refuses is an [`Error::Verify`] with the kernel-format log.
//!
//! Typed access: `map.get::<u32, u64>(&key)`, `map.insert(&k, &v, 0)`,
//! `map.get_percpu(&key)` for keys and values that are integers or byte
//! arrays ([`Plain`]).
//!
//! Sharing with other processes, as bpffs does for the kernel: a runtime
//! made from a [`pin::PinFs`] (`PinFs::from_env()?.into_runtime(..)`, the
//! directory `$OXBPF_FS`) keeps its maps in shared memory there, gives ids
//! unique across processes, and pins maps and programs with
//! [`Map::pin`]/[`Program::pin`]; `oxbpf map dump pinned …` in another
//! process sees the live values, and a pinned program opens again without
//! being verified again. Runnable examples: `cargo run -p oxbpf --example
//! count_packets` and `--example pinned`.

mod error;
mod helpers;
mod load;
mod map;
pub mod pin;
mod program;
mod runtime;
mod typed;

pub use error::{Error, Result};
pub use load::{LoadOptions, Object, ProgramDef, Verified};
pub use map::Map;
pub use program::Program;
pub use runtime::{Engine, Runtime, RuntimeOptions};
pub use typed::Plain;

pub use isa::RawInsn;
pub use maps::MapSpec;
pub use uapi::proto::{ArgType, HelperProto, RetType};
pub use uapi::{AttachType, MapType, ProgType};
pub use vm::host::{MemoryTrace, StderrTrace};
pub use vm::test_run::{verdict, TestRun, TestRunInput, TestRunOutput, Verdict};
pub use vm::{HelperFn, HelperHost, Machine, RunEnv, TraceSink};
