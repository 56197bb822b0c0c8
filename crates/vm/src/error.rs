//! Errors of the interpreter: [`PrepareError`] when a program cannot be
//! turned into the internal form (a load-time refusal), [`VmError`] when a
//! run stops abnormally. Both name the instruction (`insn N`, the slot index,
//! as the kernel's verifier log does).

use isa::{DecodeError, LoadImm};
use uapi::HelperId;

/// Boxed cause kept by [`PrepareError::Unresolved`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why [`crate::Program::prepare`] refused a program.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The bytes do not decode (unknown opcode, reserved field set, …).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// No instructions at all.
    #[error("empty program")]
    Empty,
    /// More slots than the kernel accepts ([`uapi::MAX_INSNS`]).
    #[error("program too large: {len} insns (at most {max})")]
    TooLarge { len: usize, max: usize },
    /// A jump, local call or `lddw` function address points outside the program.
    #[error("insn {pc}: jump out of range from insn {pc} to {target}")]
    JumpOutOfRange { pc: usize, target: i64 },
    /// A jump lands on the second slot of an `lddw`.
    #[error("insn {pc}: jump into the middle of ldimm64 insn {target}")]
    JumpIntoLddw { pc: usize, target: usize },
    /// The last instruction could fall through past the end.
    #[error("insn {pc}: last insn is not an exit or jmp")]
    FallsOffEnd { pc: usize },
    /// `call N` names a helper the registry does not have.
    #[error("insn {pc}: unknown func {helper}")]
    UnknownHelper { pc: usize, helper: HelperId },
    /// A pseudo `lddw` (map fd, map value, BTF id, …) that the loader's
    /// [`crate::Resolver`] did not resolve (or no resolver was given).
    #[error("insn {pc}: unresolved ldimm64 {imm:?}{}", .source.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Unresolved {
        pc: usize,
        imm: LoadImm,
        #[source]
        source: Option<BoxError>,
    },
    /// An instruction the interpreter does not execute (kfunc calls).
    #[error("insn {pc}: {what} is not supported by the interpreter")]
    Unsupported { pc: usize, what: &'static str },
}

/// What kind of access faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    Read,
    Write,
    /// A read-modify-write (`lock ...`).
    Atomic,
}

impl std::fmt::Display for AccessKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::Atomic => "atomic access",
        })
    }
}

/// Why a helper stopped the program (set with [`crate::RunEnv::fault`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelperFault {
    /// A pointer argument does not lie in a region the run may touch
    /// (checked mode).
    #[error("invalid memory {access} of {len} bytes at {addr:#x}")]
    BadPointer {
        addr: u64,
        len: u64,
        access: AccessKind,
    },
    /// Anything else, in the helper's words.
    #[error("{0}")]
    Other(String),
}

/// Why a run stopped abnormally. Every variant names the slot index `pc` of
/// the instruction that was executing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// Checked mode: the access is not inside any region of the run.
    #[error("insn {pc}: invalid memory {access} of {size} bytes at {addr:#x}")]
    MemoryAccess {
        pc: usize,
        addr: u64,
        size: u32,
        access: AccessKind,
    },
    /// An atomic operation on an address that is not naturally aligned
    /// (the CPU's atomics need it; the kernel's verifier refuses it).
    #[error("insn {pc}: misaligned atomic access of {size} bytes at {addr:#x}")]
    MisalignedAtomic { pc: usize, addr: u64, size: u32 },
    /// The instruction budget ran out (an endless or too long loop).
    #[error("insn {pc}: instruction budget of {budget} exhausted")]
    BudgetExhausted { pc: usize, budget: u64 },
    /// A bpf-to-bpf call would exceed [`uapi::MAX_CALL_FRAMES`] frames.
    #[error("insn {pc}: the call stack is too deep (more than {max} frames)")]
    CallDepthExceeded { pc: usize, max: usize },
    /// `callx` through a value that is not a subprogram address (nor, with
    /// [`crate::PrepareOptions::callx_helper_ids`], a registered helper).
    #[error("insn {pc}: callx to {value:#x}, which is not a subprogram")]
    BadCallTarget { pc: usize, value: u64 },
    /// A helper reported a fault.
    #[error("insn {pc}: {helper}: {fault}")]
    Helper {
        pc: usize,
        helper: HelperId,
        fault: HelperFault,
    },
    /// `bpf_tail_call` inside a `bpf_loop` / `bpf_for_each_map_elem`
    /// callback: only unverified programs get there (a callback has no
    /// context pointer to pass it).
    #[error("insn {pc}: tail call from a callback")]
    TailCallInCallback { pc: usize },
    /// `run` takes at most five arguments (r1–r5).
    #[error("{count} arguments given, at most 5 (r1-r5)")]
    TooManyArgs { count: usize },
}

impl VmError {
    /// The instruction the error names, if any.
    pub fn pc(&self) -> Option<usize> {
        match *self {
            VmError::MemoryAccess { pc, .. }
            | VmError::MisalignedAtomic { pc, .. }
            | VmError::BudgetExhausted { pc, .. }
            | VmError::CallDepthExceeded { pc, .. }
            | VmError::BadCallTarget { pc, .. }
            | VmError::Helper { pc, .. }
            | VmError::TailCallInCallback { pc } => Some(pc),
            VmError::TooManyArgs { .. } => None,
        }
    }
}
