//! Text → instructions, in two syntaxes.
//!
//! * [`Syntax::Llvm`]: the C-like syntax of `llvm-objdump`, clang's BPF
//!   inline assembly and the kernel's verifier log (`r0 = 1`,
//!   `if r1 == 0 goto +1`, `*(u32 *)(r10 - 4) = r0`, `r1 = 0 ll`,
//!   `lock *(u64 *)(r1 + 0) += r2`, `call 8`, `call bpf_map_lookup_elem`),
//!   in decimal or hexadecimal, with labels (`name:`, `goto name`,
//!   `call name`) and `;`, `//` or `#` comments. Everything our
//!   disassembler prints in its readable LLVM dialects reads back to the
//!   same bytes, and so does most kernel text (`(r10 -8)`, `goto pc+1`).
//! * [`Syntax::Conformance`]: the bpf_conformance suite's syntax
//!   (`mov32 %r0, 0`, `ldxw %r0, [%r1+4]`, `jeq %r1, 0, +2`,
//!   `lock fetch add [%r1+8], %r2`, `call local name`), with the suite's
//!   rules: `#` comments, labels, an implicit `exit` label at the first
//!   `exit`, and its error messages word for word
//!   (`Invalid number of operands for lock`).
//!
//! Both parsers produce typed [`Insn`]s, so everything they accept is an
//! instruction the decoder accepts too; labels are resolved once at the end.
//! Errors name the line and column and say what was expected.

mod conformance;
mod cursor;
mod llvm;
mod llvm_rhs;

use crate::insn::*;
use crate::raw::RawInsn;
use std::collections::HashMap;

/// Which assembler syntax a text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// llvm-objdump / clang inline asm / kernel log style.
    Llvm,
    /// The bpf_conformance suite's syntax.
    Conformance,
}

impl Syntax {
    /// Parses a CLI name: `llvm` or `conformance`.
    pub fn from_name(name: &str) -> Option<Syntax> {
        match name {
            "llvm" => Some(Syntax::Llvm),
            "conformance" => Some(Syntax::Conformance),
            _ => None,
        }
    }
}

/// What is wrong with a line. The messages of the conformance syntax are
/// the suite's own, so that tests can compare them with its expectations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsmErrorKind {
    #[error("Invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// Not a register, or a register above r10 (the token is in
    /// [`AsmError::found`]).
    #[error("Invalid register")]
    InvalidRegister,
    #[error("Invalid number of operands for mnemonic: {0}")]
    OperandCount(String),
    #[error("Invalid number of operands for lock")]
    LockOperandCount,
    #[error("Immediate out of 32-bit range: {0}")]
    ImmediateRange(String),
    #[error("Offset out of 16-bit range: {0}")]
    OffsetRange(String),
    #[error("Failed to decode register and offset: {0}")]
    MemoryOperand(String),
    #[error("Invalid label: {0}")]
    InvalidLabel(String),
    #[error("Duplicate label {label} (first defined on line {first_line})")]
    DuplicateLabel { label: String, first_line: usize },
    /// A label too far away for the instruction's offset field.
    #[error("jump to {label} is out of range: offset {offset} does not fit in {bits} bits")]
    JumpRange {
        label: String,
        offset: i64,
        bits: u32,
    },
    #[error("Invalid call mode")]
    InvalidCallMode,
    /// The general parse error: what the parser wanted at this column.
    #[error("expected {expected}, found {found}")]
    Expected { expected: String, found: String },
    /// Well-formed text that names no instruction (`w1 = (s32)w2`,
    /// `r1 = be24 r1`, `r1 = -r2`).
    #[error("{0}")]
    Invalid(String),
}

/// An assembly error at a line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmError {
    pub line: usize,
    pub column: usize,
    pub kind: AsmErrorKind,
    /// The offending token, where the message does not already show it.
    pub found: Option<String>,
}

impl std::fmt::Display for AsmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.kind
        )?;
        if let Some(t) = &self.found {
            write!(f, " `{t}`")?;
            if self.kind == AsmErrorKind::InvalidRegister {
                f.write_str(" (expected r0 to r10)")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for AsmError {}

/// A position in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Loc {
    pub line: usize,
    pub column: usize,
}

impl Loc {
    pub(crate) fn err(self, kind: AsmErrorKind) -> AsmError {
        AsmError {
            line: self.line,
            column: self.column,
            kind,
            found: None,
        }
    }
    pub(crate) fn err_at(self, kind: AsmErrorKind, found: &str) -> AsmError {
        AsmError {
            found: Some(found.to_string()),
            ..self.err(kind)
        }
    }
}

/// A label reference to patch once all labels are known.
struct Fixup {
    index: usize,
    label: String,
    loc: Loc,
    /// `call NAME` that may name a helper when no label has that name.
    helper_fallback: bool,
}

/// Collects instructions and labels, then resolves label references.
#[derive(Default)]
pub(crate) struct Builder {
    insns: Vec<(Insn, usize)>,
    slots: usize,
    labels: HashMap<String, (usize, usize)>,
    fixups: Vec<Fixup>,
    /// Slot of the first `exit`: the conformance syntax's implicit label.
    first_exit: Option<usize>,
}

impl Builder {
    pub(crate) fn label(&mut self, name: &str, loc: Loc) -> Result<(), AsmError> {
        if let Some(&(_, first_line)) = self.labels.get(name) {
            return Err(loc.err(AsmErrorKind::DuplicateLabel {
                label: name.to_string(),
                first_line,
            }));
        }
        self.labels.insert(name.to_string(), (self.slots, loc.line));
        Ok(())
    }

    pub(crate) fn push(&mut self, insn: Insn) {
        if insn == Insn::Exit && self.first_exit.is_none() {
            self.first_exit = Some(self.slots);
        }
        self.insns.push((insn, self.slots));
        self.slots += insn.slots();
    }

    /// Pushes a branch or call whose offset is the distance to `label`.
    pub(crate) fn push_ref(&mut self, insn: Insn, label: &str, loc: Loc, helper_fallback: bool) {
        self.fixups.push(Fixup {
            index: self.insns.len(),
            label: label.to_string(),
            loc,
            helper_fallback,
        });
        self.push(insn);
    }

    fn finish(mut self, implicit_exit: bool) -> Result<Vec<Insn>, AsmError> {
        for fx in std::mem::take(&mut self.fixups) {
            let target = match self.labels.get(&fx.label) {
                Some(&(slot, _)) => slot,
                None if implicit_exit && fx.label == "exit" && self.first_exit.is_some() => {
                    self.first_exit.unwrap_or_default()
                }
                None => {
                    let helper = fx
                        .helper_fallback
                        .then(|| uapi::HelperId::from_name(&fx.label))
                        .flatten();
                    match helper {
                        Some(h) => {
                            self.insns[fx.index].0 = Insn::Call(CallTarget::Helper(h.0 as i32));
                            continue;
                        }
                        None => return Err(fx.loc.err(AsmErrorKind::InvalidLabel(fx.label))),
                    }
                }
            };
            let (insn, slot) = &mut self.insns[fx.index];
            let offset = target as i64 - (*slot as i64 + 1);
            patch(insn, offset).map_err(|bits| {
                fx.loc.err(AsmErrorKind::JumpRange {
                    label: fx.label.clone(),
                    offset,
                    bits,
                })
            })?;
        }
        Ok(self.insns.into_iter().map(|(i, _)| i).collect())
    }
}

/// Writes a resolved offset into a branch; `Err(bits)` if it does not fit.
fn patch(insn: &mut Insn, offset: i64) -> Result<(), u32> {
    let o32 = i32::try_from(offset).map_err(|_| 32u32);
    let o16 = i16::try_from(offset).map_err(|_| 16u32);
    match insn {
        Insn::Ja { off, long: true } => *off = o32?,
        Insn::Ja { off, long: false } => *off = o16?.into(),
        Insn::Jump { off, .. } => *off = o16?,
        Insn::Call(CallTarget::Local { rel }) => *rel = o32?,
        Insn::LoadImm64 {
            imm: LoadImm::Func { rel },
            ..
        } => *rel = o32?,
        _ => {}
    }
    Ok(())
}

/// Assembles `text` into typed instructions.
pub fn assemble_insns(text: &str, syntax: Syntax) -> Result<Vec<Insn>, AsmError> {
    let mut b = Builder::default();
    for (i, line) in text.lines().enumerate() {
        match syntax {
            Syntax::Llvm => llvm::line(&mut b, line, i + 1)?,
            Syntax::Conformance => conformance::line(&mut b, line, i + 1)?,
        }
    }
    b.finish(syntax == Syntax::Conformance)
}

/// Assembles `text` into instruction slots.
pub fn assemble(text: &str, syntax: Syntax) -> Result<Vec<RawInsn>, AsmError> {
    Ok(crate::encode_program(&assemble_insns(text, syntax)?))
}

/// Assembles `text` into the program's bytes.
pub fn assemble_bytes(text: &str, syntax: Syntax) -> Result<Vec<u8>, AsmError> {
    Ok(RawInsn::slice_to_bytes(&assemble(text, syntax)?))
}
