//! Test support for oxbpf (a dev-dependency only).
//!
//! - [`kernel`]: the kernel oracle, a thin safe wrapper over Linux's
//!   `bpf(2)`: load (with the verifier's log and statistics), test-run,
//!   maps, pins, info and dumps, BTF. Tests that need it call
//!   [`require_kernel`] and skip visibly where `bpf(2)` is not permitted.
//! - [`gen`]: proptest strategies for random programs the kernel verifier
//!   accepts — straight-line and forward-branching scalar code over every
//!   ALU and jump operation, and bounded loops — plus the harnesses that run
//!   one generated body on the kernel or on an interpreter and read every
//!   register back.
//! - [`golden`]: exact comparison against checked-in expected output,
//!   regenerated with `BLESS=1`.
//! - [`paths`]: the repository root and `testdata/`, wherever the test runs.
//!
//! Why the kernel is the oracle: oxbpf promises the kernel's semantics;
//! hand-written expectations encode what we *think* the kernel does, the
//! kernel says what it does.

pub mod gen;
pub mod golden;
pub mod kernel;
pub mod listing;
pub mod paths;

pub use kernel::{require_kernel, Kernel, KernelError, Unavailable};
