//! Memory regions and the two access modes.
//!
//! eBPF programs address memory with plain 64-bit integers: `r1` holds the
//! host address of the context, `r10` the host address of the top of the
//! stack frame, a map lookup returns the host address of the value. The
//! interpreter therefore works on real host addresses, as the kernel does;
//! what differs between the modes is only whether an address is checked
//! before use:
//!
//! * [`Checked`]: every load, store and atomic is validated against the
//!   regions of the run (the live part of the stack, then the host-given
//!   regions: context, packet, map values, memory handed out by helpers). An
//!   access outside them stops the run with [`crate::VmError::MemoryAccess`]
//!   naming pc, address and size. This runs programs nobody verified.
//! * [`Unchecked`]: the address is used as is, as the kernel and a JIT do for
//!   verified programs; only reachable through an `unsafe` promise that a
//!   verifier accepted the program.
//!
//! Addresses handed to programs are made with [`pointer::expose_provenance`]
//! and turned back into pointers with [`std::ptr::with_exposed_provenance_mut`],
//! the sanctioned way of round-tripping pointers through integers.

use crate::error::AccessKind;

/// What a region holds; informational (error messages, helpers that want to
/// know what a pointer points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    /// The program's stack (all live frames).
    Stack,
    /// The program context (`xdp_md`, `__sk_buff`, or the raw memory of a
    /// conformance test).
    Context,
    /// Packet data.
    Packet,
    /// A map value (or a whole map's value area).
    MapValue,
    /// Memory a helper handed out during the run (ring buffer record, …).
    Helper,
    /// Anything else the host chose to expose.
    Other,
}

/// A span of host memory a program may access: `[start, start + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Host address of the first byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Whether stores and atomics may write it.
    pub writable: bool,
    pub kind: RegionKind,
}

impl Region {
    /// Whether `[addr, addr + size)` lies inside the region. Written so that
    /// no wrap-around can make an out-of-range access look valid.
    #[inline(always)]
    pub fn contains(&self, addr: u64, size: u64) -> bool {
        let off = addr.wrapping_sub(self.start);
        off <= self.len && self.len - off >= size
    }

    /// The region of `len` bytes at `ptr`, exposing the pointer's provenance
    /// so that the program's integer addresses can be turned back into
    /// pointers. For a writable region `ptr` must come from a mutable borrow
    /// (`as_mut_ptr`), or writes through it would be undefined behaviour.
    pub(crate) fn of_ptr(ptr: *const u8, len: usize, writable: bool, kind: RegionKind) -> Region {
        Region {
            start: ptr.expose_provenance() as u64,
            len: len as u64,
            writable,
            kind,
        }
    }
}

/// The regions of one run: the stack span (changes with the call depth,
/// checked first because most accesses are to the stack) and the host's
/// regions (searched in order).
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryMap {
    /// Lowest live stack address (bottom of the deepest frame).
    pub(crate) stack_lo: u64,
    /// One past the top of frame 0.
    pub(crate) stack_hi: u64,
    pub(crate) regions: Vec<Region>,
}

impl MemoryMap {
    /// Whether an access of `size` bytes at `addr` is allowed.
    #[inline(always)]
    pub(crate) fn allows(&self, addr: u64, size: u64, access: AccessKind) -> bool {
        let off = addr.wrapping_sub(self.stack_lo);
        let span = self.stack_hi - self.stack_lo;
        if off <= span && span - off >= size {
            return true;
        }
        self.allows_region(addr, size, access)
    }

    /// The host regions part of [`MemoryMap::allows`]. The first region
    /// (usually the context or packet) is tested inline; the rest in a loop.
    #[inline(always)]
    fn allows_region(&self, addr: u64, size: u64, access: AccessKind) -> bool {
        let ok = |r: &Region| r.contains(addr, size) && (r.writable || access == AccessKind::Read);
        match self.regions.split_first() {
            Some((first, _)) if ok(first) => true,
            Some((_, rest)) => rest.iter().any(ok),
            None => false,
        }
    }
}

/// How the interpreter turns a program address into a host pointer. The
/// dispatch loop is generic over it, so each mode gets its own compiled loop
/// and the unchecked one carries no trace of the checks.
pub(crate) trait Mode {
    /// Whether accesses are validated.
    const CHECKED: bool;
    /// `Some(pointer)` if the access is allowed (always, in unchecked mode).
    fn translate(mem: &MemoryMap, addr: u64, size: u64, access: AccessKind) -> Option<*mut u8>;
}

/// Every access validated against the run's regions.
pub(crate) enum Checked {}

/// Addresses used as they are: only for programs a verifier accepted.
pub(crate) enum Unchecked {}

impl Mode for Checked {
    const CHECKED: bool = true;
    #[inline(always)]
    fn translate(mem: &MemoryMap, addr: u64, size: u64, access: AccessKind) -> Option<*mut u8> {
        if mem.allows(addr, size, access) {
            Some(std::ptr::with_exposed_provenance_mut(addr as usize))
        } else {
            None
        }
    }
}

impl Mode for Unchecked {
    const CHECKED: bool = false;
    #[inline(always)]
    fn translate(_: &MemoryMap, addr: u64, _: u64, _: AccessKind) -> Option<*mut u8> {
        Some(std::ptr::with_exposed_provenance_mut(addr as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_edges() {
        let r = Region {
            start: 100,
            len: 16,
            writable: true,
            kind: RegionKind::Other,
        };
        assert!(r.contains(100, 16));
        assert!(r.contains(115, 1));
        assert!(r.contains(116, 0));
        assert!(!r.contains(116, 1));
        assert!(!r.contains(99, 1));
        assert!(!r.contains(108, 9));
        assert!(!r.contains(u64::MAX, 2));
        assert!(!r.contains(100, u64::MAX));
    }

    #[test]
    fn readonly_regions_refuse_writes() {
        let m = MemoryMap {
            stack_lo: 0,
            stack_hi: 0,
            regions: vec![Region {
                start: 1000,
                len: 8,
                writable: false,
                kind: RegionKind::Context,
            }],
        };
        assert!(m.allows(1000, 8, AccessKind::Read));
        assert!(!m.allows(1000, 8, AccessKind::Write));
        assert!(!m.allows(1000, 8, AccessKind::Atomic));
        assert!(!m.allows(1004, 8, AccessKind::Read));
    }
}
