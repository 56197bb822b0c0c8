//! The code buffer: encoded instructions appended in order, labels bound to
//! offsets, and fixups (branch displacements, table entries, calls to fixed
//! addresses) resolved when the pass ends.
//!
//! # Branch sizes by repeated passes
//!
//! A jump takes 2 bytes when its displacement fits in 8 bits and 5 or 6
//! otherwise, and which it is depends on the code in between — which
//! depends on the sizes of *its* jumps. As the kernel's x86 JIT does, the
//! code generator runs whole passes until the code size stops changing:
//!
//! * pass 1 knows no offsets and makes every branch long;
//! * every later pass is given the label offsets and branch ends of the
//!   pass before ([`Layout`]) and makes a branch short when the distance it
//!   had then fits in 8 bits.
//!
//! Why this converges and why the last pass is exact: by induction every
//! instruction is at most as long as in the pass before (a branch only goes
//! from long to short, since distances only shrink), so the distance any
//! branch spans — the sum of the sizes between its end and its target,
//! including itself for a backward branch — is at most what it was, and a
//! branch that fitted in 8 bits still fits. Sizes are non-increasing
//! integers, so they settle; and a pass whose total size equals the
//! previous one's changed no instruction, so the offsets it was given are
//! its own offsets and every choice it made is exact. The fixups are still
//! checked when patched ([`BufferError::ShortBranchOutOfRange`]).
//!
//! Nothing whose size could grow may be emitted (no alignment padding
//! between code and data), or the induction breaks.

use crate::x86::{self, Cc, Enc, Gpr, Mem};

/// A position in the code, bound once per pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(u32);

impl Label {
    /// The label's number (labels are numbered in creation order, which is
    /// the same in every pass).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a pass learned about positions, handed to the next one.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Offset of every label (`u32::MAX` if it was never bound).
    labels: Vec<u32>,
    /// End offset of every branch, in emission order.
    branch_ends: Vec<u32>,
    /// Whether each branch was short, in emission order.
    branch_short: Vec<bool>,
    /// Whether each call to a fixed address was a `call rel32`.
    calls_near: Vec<bool>,
}

impl Layout {
    /// Where `label` was bound, if it was.
    pub fn offset(&self, label: Label) -> Option<u32> {
        self.labels
            .get(label.index())
            .copied()
            .filter(|&o| o != UNBOUND)
    }
}

/// An internal inconsistency found while patching; a bug in the JIT, never
/// the program's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BufferError {
    #[error("label {0} used but never bound")]
    Unbound(usize),
    #[error("short branch at offset {at:#x} cannot reach {target:#x}")]
    ShortBranchOutOfRange { at: u32, target: u32 },
    #[error("call at offset {at:#x} cannot reach {target:#x} with a 32-bit displacement")]
    CallOutOfRange { at: u32, target: u64 },
}

#[derive(Debug, Clone, Copy)]
enum FixKind {
    /// 8-bit displacement from the instruction end.
    Rel8,
    /// 32-bit displacement from the instruction end.
    Rel32,
    /// A 32-bit table entry: label offset minus the table's offset.
    TableEntry { table: u32 },
    /// 32-bit displacement to an absolute address (needs the base).
    Abs { target: u64 },
}

#[derive(Debug, Clone, Copy)]
struct Fixup {
    /// Offset of the field to patch.
    at: u32,
    /// Offset the displacement counts from (the instruction's end).
    end: u32,
    label: Option<Label>,
    kind: FixKind,
}

/// The code of one pass.
#[derive(Debug)]
pub struct CodeBuffer<'p> {
    code: Vec<u8>,
    labels: Vec<u32>,
    fixups: Vec<Fixup>,
    branch_ends: Vec<u32>,
    branch_short: Vec<bool>,
    calls_near: Vec<bool>,
    prev: Option<&'p Layout>,
    /// Repeat the previous pass's choices instead of deciding again.
    freeze: bool,
    /// Address the code will be copied to, when known (for `call rel32` to
    /// helpers).
    base: Option<u64>,
}

const UNBOUND: u32 = u32::MAX;

impl<'p> CodeBuffer<'p> {
    /// An empty buffer; `prev` is the previous pass's layout (`None` in the
    /// first pass), `base` the final address of offset 0 if known.
    pub fn new(prev: Option<&'p Layout>, base: Option<u64>, capacity: usize) -> Self {
        CodeBuffer {
            code: Vec::with_capacity(capacity),
            labels: Vec::new(),
            fixups: Vec::new(),
            branch_ends: Vec::new(),
            branch_short: Vec::new(),
            calls_near: Vec::new(),
            prev,
            freeze: false,
            base,
        }
    }

    /// Makes every size choice the one the previous pass made. A frozen
    /// pass reproduces the previous layout exactly, and that layout's
    /// choices were checked against distances at least as large, so it is
    /// always exact: the way out when passes keep shrinking for too long.
    pub fn set_freeze(&mut self, freeze: bool) {
        self.freeze = freeze && self.prev.is_some();
    }

    /// Current offset.
    pub fn offset(&self) -> u32 {
        self.code.len() as u32
    }

    /// A new, unbound label.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(UNBOUND);
        Label(self.labels.len() as u32 - 1)
    }

    /// Binds `label` to the current offset.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.index()] = self.offset();
    }

    /// Whether `label` is bound in this pass.
    pub fn is_bound(&self, label: Label) -> bool {
        self.labels[label.index()] != UNBOUND
    }

    /// Appends one instruction.
    pub fn emit(&mut self, e: Enc) {
        self.code.extend_from_slice(e.bytes());
    }

    /// Whether the branch about to be emitted (the next in order) reached
    /// `label` with an 8-bit displacement in the previous pass.
    fn short_fits(&self, label: Label) -> bool {
        let Some(prev) = self.prev else { return false };
        if self.freeze {
            return prev
                .branch_short
                .get(self.branch_short.len())
                .copied()
                .unwrap_or(false);
        }
        let (Some(&target), Some(&end)) = (
            prev.labels.get(label.index()),
            prev.branch_ends.get(self.branch_ends.len()),
        ) else {
            return false;
        };
        target != UNBOUND && x86::fits_i8(target as i64 - end as i64)
    }

    fn branch(&mut self, label: Label, short: Enc, long: Enc) {
        let short_ok = self.short_fits(label);
        self.branch_short.push(short_ok);
        let (e, kind) = if short_ok {
            (short, FixKind::Rel8)
        } else {
            (long, FixKind::Rel32)
        };
        self.emit(e);
        let end = self.offset();
        let width = if matches!(kind, FixKind::Rel8) { 1 } else { 4 };
        self.fixups.push(Fixup {
            at: end - width,
            end,
            label: Some(label),
            kind,
        });
        self.branch_ends.push(end);
    }

    /// `jmp label`, short when it fits.
    pub fn jmp(&mut self, label: Label) {
        self.branch(label, x86::jmp8(0), x86::jmp32(0));
    }

    /// `jcc label`, short when it fits.
    pub fn jcc(&mut self, cc: Cc, label: Label) {
        self.branch(label, x86::jcc8(cc, 0), x86::jcc32(cc, 0));
    }

    /// `call label` (always rel32: calls are not relaxed).
    pub fn call_label(&mut self, label: Label) {
        self.emit(x86::call32(0));
        self.push_rel32(label);
    }

    /// `lea reg, [rip + label]`.
    pub fn lea_label(&mut self, reg: Gpr, label: Label) {
        self.emit(x86::lea(reg, Mem::Rip { disp: 0 }));
        self.push_rel32(label);
    }

    fn push_rel32(&mut self, label: Label) {
        let end = self.offset();
        self.fixups.push(Fixup {
            at: end - 4,
            end,
            label: Some(label),
            kind: FixKind::Rel32,
        });
    }

    /// A call to a fixed address: `call rel32` when the code's final address
    /// is known and within ±2 GiB of `target` from anywhere in the code
    /// emitted so far (positions only shrink, see the module docs);
    /// otherwise `movabs scratch, target; call scratch`.
    pub fn call_abs(&mut self, target: u64, scratch: Gpr) {
        let near = match (self.freeze, self.prev) {
            (true, Some(prev)) => prev
                .calls_near
                .get(self.calls_near.len())
                .copied()
                .unwrap_or(false),
            _ => self.base.is_some_and(|base| {
                let lo = target as i128 - base as i128;
                let hi = lo - (self.offset() as i128 + 5);
                lo.abs() < i32::MAX as i128 && hi.abs() < i32::MAX as i128
            }),
        };
        self.calls_near.push(near);
        if near {
            self.emit(x86::call32(0));
            let end = self.offset();
            self.fixups.push(Fixup {
                at: end - 4,
                end,
                label: None,
                kind: FixKind::Abs { target },
            });
        } else {
            self.emit(x86::mov_r64_i64(scratch, target));
            self.emit(x86::call_r(scratch));
        }
    }

    /// A 32-bit table entry holding `label`'s offset minus `table`'s (0 for
    /// `None`: a hole).
    pub fn table_entry(&mut self, table: Label, label: Option<Label>) {
        let at = self.offset();
        self.emit(Enc::new().d32(0));
        if let Some(label) = label {
            self.fixups.push(Fixup {
                at,
                end: at,
                label: Some(label),
                kind: FixKind::TableEntry { table: table.0 },
            });
        }
    }

    /// A 64-bit data word (an absolute address in a table).
    pub fn data64(&mut self, v: u64) {
        self.emit(Enc::new().q64(v));
    }

    /// Resolves the fixups; returns the code and this pass's layout.
    pub fn finish(mut self) -> Result<(Vec<u8>, Layout), BufferError> {
        for f in std::mem::take(&mut self.fixups) {
            let target = match f.label {
                Some(l) => match self.labels[l.index()] {
                    UNBOUND => return Err(BufferError::Unbound(l.index())),
                    off => off,
                },
                None => 0,
            };
            let at = f.at as usize;
            match f.kind {
                FixKind::Rel8 => {
                    let rel = target as i64 - f.end as i64;
                    if !x86::fits_i8(rel) {
                        return Err(BufferError::ShortBranchOutOfRange { at: f.at, target });
                    }
                    self.code[at] = rel as i8 as u8;
                }
                FixKind::Rel32 => {
                    let rel = (target as i64 - f.end as i64) as i32;
                    self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
                FixKind::TableEntry { table } => {
                    let base = self.labels[table as usize];
                    if base == UNBOUND {
                        return Err(BufferError::Unbound(table as usize));
                    }
                    let rel = (target as i64 - base as i64) as i32;
                    self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
                FixKind::Abs { target } => {
                    let from = self.base.unwrap_or(0) as i128 + f.end as i128;
                    let rel = target as i128 - from;
                    let Ok(rel) = i32::try_from(rel) else {
                        return Err(BufferError::CallOutOfRange { at: f.at, target });
                    };
                    self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
            }
        }
        let layout = Layout {
            labels: self.labels,
            branch_ends: self.branch_ends,
            branch_short: self.branch_short,
            calls_near: self.calls_near,
        };
        Ok((self.code, layout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forward and a backward branch over `gap` bytes of filler.
    fn pass(prev: Option<&Layout>, gap: usize) -> (Vec<u8>, Layout) {
        let mut b = CodeBuffer::new(prev, None, 64);
        let top = b.new_label();
        let end = b.new_label();
        b.bind(top);
        b.jcc(Cc::E, end);
        for _ in 0..gap {
            b.emit(x86::int3());
        }
        b.jmp(top);
        b.bind(end);
        b.emit(x86::ret());
        b.finish().unwrap()
    }

    fn converge(gap: usize) -> Vec<u8> {
        let (mut code, mut layout) = pass(None, gap);
        loop {
            let (c, l) = pass(Some(&layout), gap);
            if c.len() == code.len() {
                return c;
            }
            (code, layout) = (c, l);
        }
    }

    #[test]
    fn first_pass_is_long_and_later_passes_shrink() {
        let (code, _) = pass(None, 4);
        assert_eq!(code.len(), 6 + 4 + 5 + 1);
        let code = converge(4);
        // je +6 ; int3 x4 ; jmp -8 ; ret
        assert_eq!(code, [0x74, 0x06, 0xcc, 0xcc, 0xcc, 0xcc, 0xeb, 0xf8, 0xc3]);
    }

    #[test]
    fn branches_near_the_edge_of_the_short_range() {
        // Pass 2 shortens je (120 + 5 bytes), which lets pass 3 shorten the
        // jmp (2 + 120 + 5 back): the result is both short, +122 / -124.
        let code = converge(120);
        assert_eq!(code[..2], [0x74, 122]);
        assert_eq!(code[code.len() - 3..code.len() - 1], [0xeb, (-124i8) as u8]);
        // With 124 bytes all-short would fit exactly (+126 / -128), but from
        // all-long neither branch sees a fitting distance, so both stay
        // long: the passes find the fixed point below the first layout, not
        // the smallest layout (the kernel's passes behave the same).
        let code = converge(124);
        assert_eq!(code[..2], [0x0f, 0x84]);
        assert_eq!(code[code.len() - 6], 0xe9);
        assert_eq!(code.len(), 6 + 124 + 5 + 1);
    }

    #[test]
    fn tables_hold_offsets_relative_to_their_start() {
        let mut b = CodeBuffer::new(None, None, 64);
        let f = b.new_label();
        let table = b.new_label();
        b.bind(f);
        b.emit(x86::ret());
        b.bind(table);
        b.table_entry(table, Some(f));
        b.table_entry(table, None);
        let (code, _) = b.finish().unwrap();
        assert_eq!(&code[1..5], &(-1i32).to_le_bytes());
        assert_eq!(&code[5..9], &[0; 4]);
    }

    #[test]
    fn unbound_labels_are_reported() {
        let mut b = CodeBuffer::new(None, None, 64);
        let l = b.new_label();
        b.jmp(l);
        assert_eq!(b.finish().unwrap_err(), BufferError::Unbound(0));
    }

    #[test]
    fn calls_to_fixed_addresses() {
        let mut b = CodeBuffer::new(None, Some(0x1000), 64);
        b.call_abs(0x2000, Gpr::Rax);
        b.call_abs(0x7000_0000_0000, Gpr::Rax);
        let (code, _) = b.finish().unwrap();
        assert_eq!(&code[..5], &[0xe8, 0xfb, 0x0f, 0, 0]);
        assert_eq!(&code[5..7], &[0x48, 0xb8]);
        assert_eq!(&code[15..], &[0xff, 0xd0]);
    }
}
