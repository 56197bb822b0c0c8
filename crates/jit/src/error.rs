//! Why a program could not be compiled.

use crate::buffer::BufferError;

/// A compilation failure: the program's fault ([`CompileError::Prepare`],
/// the very refusals of the interpreter's preparation), the system's
/// ([`CompileError::Memory`]), or ours ([`CompileError::Internal`]).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The program is malformed or names what the options cannot resolve
    /// (unknown helper, unresolved `lddw`, jump out of range, kfunc, …);
    /// the same error the interpreter gives.
    #[error(transparent)]
    Prepare(#[from] vm::PrepareError),
    /// Mapping or sealing code memory failed.
    #[error("code memory: {0}")]
    Memory(#[source] std::io::Error),
    /// A bug in the JIT (a label never bound, a branch out of its range).
    #[error("internal JIT error: {0}")]
    Internal(#[from] BufferError),
}
