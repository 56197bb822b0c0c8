//! The x86-64 JIT of oxbpf: eBPF programs compiled to native code that runs
//! with the kernel's semantics and the kernel's register mapping.
//!
//! ```
//! use oxbpf_jit::{CompileOptions, JitProgram};
//! use vm::{HelperRegistry, PrepareOptions};
//!
//! // mov r0, r2 ; exit   (r2 = length of the memory)
//! let bytes = [0xbf, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let helpers = HelperRegistry::with_builtins();
//! let opts = CompileOptions::new(PrepareOptions::new(&helpers));
//! // SAFETY: this program touches no memory and terminates.
//! let prog = unsafe { JitProgram::from_bytes_trusted(&bytes, &opts) }.unwrap();
//! assert_eq!(prog.run_on_memory(&mut [0u8; 8]).unwrap(), 8);
//! ```
//!
//! # Three layers
//!
//! 1. [`x86`]: a typed encoder. Registers, condition codes and memory
//!    operands are types; each instruction form is a `const fn` returning
//!    its bytes. Tested as triples (form, bytes, text decoded by
//!    `iced-x86`).
//! 2. [`buffer`]: the code buffer. Appends encoded instructions, binds
//!    labels, records fixups and resolves them at the end of a pass; branch
//!    sizes are settled by repeated passes until the code size converges,
//!    as the kernel's JIT does.
//! 3. `codegen`: one short lowering function per instruction class over a
//!    fixed register mapping (BPF r1–r5 in the System V argument
//!    registers, so helpers are plain `call`s). It only calls the encoder.
//!
//! # Memory and safety
//!
//! Code is written into a read-write mapping and sealed read-execute
//! ([`memory`]): never both at once, unmapped on drop. Compiled code has no
//! memory checks and no instruction budget — safety and termination come
//! from the verifier, exactly as for the kernel's JIT — so compiling an
//! unverified program is `unsafe` ([`JitProgram::compile_trusted`]), and
//! the safe constructor takes the verifier's result
//! ([`JitProgram::compile_verified`]). Constant blinding ([`CompileOptions::blind_constants`]) keeps
//! program-chosen immediates out of executable memory.
//!
//! # Agreement with the interpreter
//!
//! Every observable value is the interpreter's: `lddw` of a function loads
//! [`vm::subprog_addr`] (and `callx` decodes it through a table), errors
//! are [`vm::VmError`]s with the same instruction index, registers start at
//! zero (those read before written), helpers get the same `RunEnv`, and
//! `bpf_loop`/`bpf_for_each_map_elem` iterate with [`vm::callbacks`], the
//! interpreter's own driver, calling back into compiled code.

pub mod blind;
pub mod buffer;
mod codegen;
mod disasm;
mod error;
pub mod memory;
mod program;
mod runtime;
pub mod x86;

pub use disasm::{disassemble, disassemble_annotated, dump_jited};
pub use error::CompileError;
pub use program::{CompileOptions, JitProgram};
pub use runtime::TailCalls;
