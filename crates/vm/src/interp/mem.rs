//! Loads, stores, atomics and legacy packet loads. Generic over the access
//! [`Mode`]: the checked mode validates through the run's memory map, the
//! unchecked mode compiles down to the bare access.

use crate::error::{AccessKind, VmError};
use crate::memory::{MemoryMap, Mode};
use isa::{AtomicOp, Size};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The plain integer types programs load and store.
pub(super) trait Scalar: Copy {}
impl Scalar for u8 {}
impl Scalar for u16 {}
impl Scalar for u32 {}
impl Scalar for u64 {}
impl Scalar for i8 {}
impl Scalar for i16 {}
impl Scalar for i32 {}

#[cold]
#[inline(never)]
fn fault(pc: usize, addr: u64, size: usize, access: AccessKind) -> VmError {
    VmError::MemoryAccess {
        pc,
        addr,
        size: size as u32,
        access,
    }
}

/// `*(T *)addr`.
#[inline(always)]
pub(super) fn load<M: Mode, T: Scalar>(
    mem: &MemoryMap,
    addr: u64,
    pc: usize,
) -> Result<T, VmError> {
    let size = std::mem::size_of::<T>();
    match M::translate(mem, addr, size as u64, AccessKind::Read) {
        // SAFETY: checked mode: `translate` found `[addr, addr + size)` inside
        // a region the host (or the interpreter, for the stack) guarantees
        // valid for the run. Unchecked mode: the verifier proved the access in
        // bounds (the `assume_verified` contract). Unaligned reads are allowed
        // by `read_unaligned`, and every bit pattern is a valid `T`.
        Some(p) => Ok(unsafe { p.cast::<T>().read_unaligned() }),
        None => Err(fault(pc, addr, size, AccessKind::Read)),
    }
}

/// `*(T *)addr = v`.
#[inline(always)]
pub(super) fn store<M: Mode, T: Scalar>(
    mem: &MemoryMap,
    addr: u64,
    v: T,
    pc: usize,
) -> Result<(), VmError> {
    let size = std::mem::size_of::<T>();
    match M::translate(mem, addr, size as u64, AccessKind::Write) {
        Some(p) => {
            // SAFETY: as in `load`; checked mode also found the region
            // writable.
            unsafe { p.cast::<T>().write_unaligned(v) };
            Ok(())
        }
        None => Err(fault(pc, addr, size, AccessKind::Write)),
    }
}

/// Where an atomic's result goes.
pub(super) enum AtomicResult {
    /// Nothing (`lock add` etc. without fetch).
    None,
    /// The old value, into the source register (fetch forms, `xchg`).
    Src(u64),
    /// The old value, into r0 (`cmpxchg`).
    R0(u64),
}

/// An atomic read-modify-write with a real atomic instruction, so that
/// programs on several workers sharing a map see each other's updates as
/// the kernel's would. 32-bit results zero-extend.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(super) fn atomic<M: Mode>(
    mem: &MemoryMap,
    size: Size,
    op: AtomicOp,
    addr: u64,
    src: u64,
    r0: u64,
    pc: usize,
) -> Result<AtomicResult, VmError> {
    let bytes = size.bytes() as u64;
    let Some(p) = M::translate(mem, addr, bytes, AccessKind::Atomic) else {
        return Err(fault(pc, addr, bytes as usize, AccessKind::Atomic));
    };
    if !addr.is_multiple_of(bytes) {
        return Err(VmError::MisalignedAtomic {
            pc,
            addr,
            size: bytes as u32,
        });
    }
    // Plain RMW without fetch has no ordering in the BPF memory model; the
    // fetch forms, xchg and cmpxchg are fully ordered.
    let ord = if op.fetches() {
        Ordering::SeqCst
    } else {
        Ordering::Relaxed
    };
    let old = if size == Size::DW {
        // SAFETY: `p` is valid for 8 bytes (checked mode: translated inside a
        // writable region; unchecked: the verifier's proof), aligned to 8 as
        // tested above, and every access to program memory from other threads
        // is either atomic or a program's plain access, as in the kernel.
        let a = unsafe { AtomicU64::from_ptr(p.cast::<u64>()) };
        match op {
            AtomicOp::Add { .. } => a.fetch_add(src, ord),
            AtomicOp::Or { .. } => a.fetch_or(src, ord),
            AtomicOp::And { .. } => a.fetch_and(src, ord),
            AtomicOp::Xor { .. } => a.fetch_xor(src, ord),
            AtomicOp::Xchg => a.swap(src, ord),
            AtomicOp::Cmpxchg => match a.compare_exchange(r0, src, ord, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            },
        }
    } else {
        // SAFETY: as above, for 4 bytes aligned to 4.
        let a = unsafe { AtomicU32::from_ptr(p.cast::<u32>()) };
        let s = src as u32;
        (match op {
            AtomicOp::Add { .. } => a.fetch_add(s, ord),
            AtomicOp::Or { .. } => a.fetch_or(s, ord),
            AtomicOp::And { .. } => a.fetch_and(s, ord),
            AtomicOp::Xor { .. } => a.fetch_xor(s, ord),
            AtomicOp::Xchg => a.swap(s, ord),
            AtomicOp::Cmpxchg => match a.compare_exchange(r0 as u32, s, ord, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            },
        }) as u64
    };
    Ok(match op {
        AtomicOp::Cmpxchg => AtomicResult::R0(old),
        _ if op.fetches() => AtomicResult::Src(old),
        _ => AtomicResult::None,
    })
}
