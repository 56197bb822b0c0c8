//! One frame's stack, tracked per byte.
//!
//! The 512 bytes below the frame pointer form 64 slots of 8 bytes. Each byte
//! is never written ([`ByteKind::Invalid`]), some data ([`ByteKind::Misc`]),
//! known zero ([`ByteKind::Zero`]) or part of a spilled register
//! ([`ByteKind::Spill`]); a slot whose lowest byte is `Spill` holds the
//! register state that was stored there, so that a fill gets the pointer or
//! the bounded scalar back. Byte `i` of slot `s` is at `fp - 8*s - 8 + (7-i)`
//! … in the kernel's layout: for the byte at `fp + off` the index is
//! `(-off - 1) % 8` within slot `(-off - 1) / 8`, so index 7 is the slot's
//! lowest address.

use super::reg::RegState;

/// Bytes per slot (`BPF_REG_SIZE`).
pub const SLOT: usize = 8;

/// What is known about one stack byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteKind {
    #[doc(alias = "STACK_INVALID")]
    Invalid,
    #[doc(alias = "STACK_MISC")]
    Misc,
    #[doc(alias = "STACK_ZERO")]
    Zero,
    #[doc(alias = "STACK_SPILL")]
    Spill,
}

impl ByteKind {
    /// The character the kernel's state line prints.
    pub fn ch(self) -> char {
        match self {
            ByteKind::Invalid => '?',
            ByteKind::Misc => 'm',
            ByteKind::Zero => '0',
            ByteKind::Spill => 'r',
        }
    }
}

/// One 8-byte slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slot {
    pub bytes: [ByteKind; SLOT],
    /// The spilled register when `bytes[7]` is `Spill`; otherwise `NotInit`.
    pub spilled: RegState,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            bytes: [ByteKind::Invalid; SLOT],
            spilled: RegState::NotInit,
        }
    }
}

impl Slot {
    /// Whether the slot holds a spilled register (`is_spilled_reg`).
    pub fn is_spill(&self) -> bool {
        self.bytes[SLOT - 1] == ByteKind::Spill
    }

    /// Number of spilled bytes counted from the lowest address.
    pub fn spill_size(&self) -> usize {
        self.bytes
            .iter()
            .rev()
            .take_while(|b| **b == ByteKind::Spill)
            .count()
    }

    /// Turn a spilled register into plain data (a partial overwrite).
    pub fn scrub(&mut self) {
        if self.bytes.contains(&ByteKind::Spill) {
            for b in self.bytes.iter_mut() {
                if *b == ByteKind::Spill {
                    *b = ByteKind::Misc;
                }
            }
        }
        self.spilled = RegState::NotInit;
    }

    /// Whether every byte is unwritten.
    pub fn is_invalid(&self) -> bool {
        self.bytes.iter().all(|b| *b == ByteKind::Invalid)
    }
}

/// Slot and byte index of the byte at `fp + off` (`off` in `-512..0`).
pub fn locate(off: i64) -> (usize, usize) {
    let idx = (-off - 1) as usize;
    (idx / SLOT, idx % SLOT)
}

/// A frame's stack: slots from `fp-8` downwards, grown as the program
/// touches deeper bytes (the kernel's `allocated_stack`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Stack {
    pub slots: Vec<Slot>,
}

impl Stack {
    /// Make room down to `fp + off`.
    pub fn grow(&mut self, off: i64) {
        let (spi, _) = locate(off);
        if self.slots.len() <= spi {
            self.slots.resize(spi + 1, Slot::default());
        }
    }

    /// Bytes allocated, a multiple of 8 (the frame's stack depth).
    pub fn depth(&self) -> usize {
        self.slots.len() * SLOT
    }

    /// The kind of the byte at `fp + off`, `Invalid` beyond the allocation.
    pub fn byte(&self, off: i64) -> ByteKind {
        let (spi, i) = locate(off);
        self.slots
            .get(spi)
            .map_or(ByteKind::Invalid, |s| s.bytes[i])
    }

    /// The slot holding `fp + off`.
    pub fn slot(&self, off: i64) -> Option<&Slot> {
        self.slots.get(locate(off).0)
    }

    pub fn slot_mut(&mut self, off: i64) -> &mut Slot {
        self.grow(off);
        &mut self.slots[locate(off).0]
    }
}
