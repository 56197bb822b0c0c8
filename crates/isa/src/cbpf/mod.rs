//! Classic BPF (cBPF): parsing, the kernel's checks, and translation to eBPF
//! with the kernel's semantics.
//!
//! Classic BPF is what `tcpdump` compiles its filter expressions to and what
//! `SO_ATTACH_FILTER` takes: an accumulator `A`, an index register `X`, 16
//! scratch words `M[]`, forward-only jumps, and packet loads that end the
//! program with 0 when they fall outside the packet. Linux runs such filters
//! by converting them to eBPF (`bpf_convert_filter` in `net/core/filter.c`);
//! this module does the same, so that a cBPF filter becomes an ordinary
//! `socket_filter` program that the verifier, interpreter and JIT treat like
//! any other.
//!
//! # Pipeline
//!
//! 1. **Input** — [`parse_text`] reads `tcpdump -ddd` output (a count line,
//!    then `code jt jf k` in decimal) and `tcpdump -dd` output (C initialisers
//!    `{ 0x28, 0, 0, 0x0000000c },`); the embedding API passes
//!    [`SockFilter`] arrays directly (`struct sock_filter`).
//! 2. **Check** — [`check`] refuses what the kernel's `bpf_check_classic`
//!    refuses: unknown opcodes, division or modulo by a constant zero, shifts
//!    by 32 or more, scratch indexes of 16 or more, unknown ancillary offsets,
//!    jumps past the end, a last instruction that is not `ret`, and loads of
//!    scratch words that some path has not stored (`check_load_and_stores`).
//!    Errors name the instruction index ([`CbpfError::Invalid`]).
//! 3. **Translate** — [`translate`] emits eBPF [`Insn`](crate::Insn)s; see
//!    [`translate`'s documentation](translate()) for the register mapping and
//!    the expansion of each instruction.
//!
//! # Semantics worth knowing
//!
//! * Everything is 32-bit and unsigned; jumps compare unsigned.
//! * Division or modulo by `X == 0` makes the program return 0 (the packet
//!   is dropped): eBPF would continue with 0 or `A`, so the translation
//!   tests `X` first, as the kernel's converter does.
//! * Shifts by `X` use the low 5 bits of `X` (the kernel's eBPF semantics).
//!   libpcap's userland interpreter gives 0 for `X >= 32`; tcpdump never
//!   emits shifts by `X`, but hand-written filters could see the difference.
//! * Negative `k` in absolute and indirect loads: `SKF_AD_OFF + N` are the
//!   [`Ancillary`] loads (metadata), `SKF_NET_OFF + n` and `SKF_LL_OFF + n`
//!   address from the network and link-layer headers.

mod check;
mod insn;
mod parse;
mod translate;

#[cfg(test)]
mod tests;

pub use check::check;
pub use insn::{cbpf_text, Ancillary, CAluOp, CCond, CReg, CSrc, CbpfInsn, RetVal};
pub use parse::{parse_dd, parse_ddd, parse_text};
pub use translate::{translate, Translation, REG_A, REG_CTX, REG_TMP, REG_X};

pub use uapi::opcode::classic::{BPF_MAXINSNS, BPF_MEMWORDS};

/// One classic instruction as the kernel's `struct sock_filter` lays it out
/// (8 bytes: `u16 code`, `u8 jt`, `u8 jf`, `u32 k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SockFilter {
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    pub k: u32,
}

impl SockFilter {
    /// Size of `struct sock_filter` in bytes.
    pub const SIZE: usize = 8;

    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Self {
        SockFilter { code, jt, jf, k }
    }

    /// From the 8 bytes of a native (little-endian) `struct sock_filter`.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        SockFilter {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// The 8 bytes of a native (little-endian) `struct sock_filter`.
    pub fn to_bytes(self) -> [u8; 8] {
        let c = self.code.to_le_bytes();
        let k = self.k.to_le_bytes();
        [c[0], c[1], self.jt, self.jf, k[0], k[1], k[2], k[3]]
    }
}

/// Why a classic program was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CbpfError {
    /// The text form could not be read (1-based line number).
    #[error("line {line}: {kind}")]
    Parse { line: usize, kind: ParseErrorKind },
    /// No instructions.
    #[error("empty filter")]
    Empty,
    /// More than [`BPF_MAXINSNS`] instructions.
    #[error("filter too long: {len} insns (at most {max})", max = BPF_MAXINSNS)]
    TooLong { len: usize },
    /// Instruction `index` (0-based) is invalid, as `bpf_check_classic`
    /// decides.
    #[error("insn {index}: {kind}")]
    Invalid { index: usize, kind: InvalidKind },
}

/// What is wrong with the text of a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// Neither `tcpdump -ddd` nor `tcpdump -dd` output.
    #[error("not tcpdump -ddd or -dd output: {text:?}")]
    Unrecognised { text: String },
    /// A field is not a number of its width.
    #[error("invalid {field} {text:?}")]
    BadField { field: &'static str, text: String },
    /// A line has too few or too many fields.
    #[error("expected 4 fields (code jt jf k), found {found}")]
    FieldCount { found: usize },
    /// The count line of `-ddd` output disagrees with the instructions.
    #[error("count line says {declared} insns, found {found}")]
    CountMismatch { declared: usize, found: usize },
}

/// What is wrong with one instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKind {
    /// Not in the kernel's table of classic opcodes (`chk_code_allowed`).
    #[error("unknown opcode {code:#06x}")]
    UnknownOpcode { code: u16 },
    /// `div #0` or `mod #0`.
    #[error("division by constant zero")]
    DivisionByZero,
    /// `lsh`/`rsh` by a constant of 32 or more.
    #[error("shift by {k} (must be below 32)")]
    ShiftTooLarge { k: u32 },
    /// `M[idx]` with `idx >= 16`.
    #[error("scratch memory index {idx} (must be below {max})", max = BPF_MEMWORDS)]
    ScratchIndex { idx: u32 },
    /// A load at `SKF_AD_OFF` or above that names no ancillary field.
    #[error("unknown ancillary load at offset {k:#x}")]
    UnknownAncillary { k: u32 },
    /// A jump lands at or past the end of the program.
    #[error("jump to insn {target} is out of range (program has {len} insns)")]
    JumpOutOfRange { target: u64, len: usize },
    /// The program does not end with `ret`.
    #[error("last insn is not a ret (opcode {code:#06x})")]
    LastNotRet { code: u16 },
    /// `M[idx]` read where some path to it has not written it.
    #[error("M[{idx}] may be read before it is written")]
    UninitScratch { idx: u32 },
    /// After translation the jump does not fit eBPF's 16-bit offset.
    #[error("translated jump offset {off} does not fit 16 bits")]
    JumpTooFar { off: i64 },
}

impl CbpfError {
    /// The 0-based index of the offending instruction, if one is to blame.
    pub fn index(&self) -> Option<usize> {
        match self {
            CbpfError::Invalid { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// Parses text or checks and translates in one step: `tcpdump -ddd`/`-dd`
/// text to eBPF.
pub fn translate_text(text: &str) -> Result<Translation, CbpfError> {
    translate(&parse_text(text)?)
}

/// Reads a raw `struct sock_filter` array (a multiple of 8 bytes).
pub fn sock_filters_from_bytes(bytes: &[u8]) -> Option<Vec<SockFilter>> {
    if !bytes.len().is_multiple_of(SockFilter::SIZE) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(SockFilter::SIZE)
            .map(|c| SockFilter::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
    )
}
