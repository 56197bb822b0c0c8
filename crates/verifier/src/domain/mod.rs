//! Abstract value domains, knowing nothing of instructions or logs: tnums,
//! intervals, their product [`Scalar`], and the transfer functions (ALU
//! operations and branch refinement) that the interpreter composes.

pub mod alu;
pub mod cond;
pub mod range;
pub mod scalar;
pub mod tnum;

#[cfg(test)]
mod soundness;

pub use range::Range;
pub use scalar::Scalar;
pub use tnum::Tnum;
