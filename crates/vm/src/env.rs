//! The per-run environment: everything a run may touch besides registers and
//! stack, and what helpers receive as their sixth argument.
//!
//! One [`RunEnv`] is built by the host for a run (or reused across runs on
//! one worker): the memory regions the program may access, where the packet
//! is (for the legacy `BPF_ABS`/`BPF_IND` loads), the worker index
//! (`bpf_get_smp_processor_id`), the tail-call hook and an opaque host value
//! for helpers (the map runtime, a trace buffer, …). The interpreter keeps
//! its current stack span in it, so a helper given a stack pointer can check
//! it as the interpreter would.

use crate::error::{AccessKind, HelperFault};
use crate::memory::{MemoryMap, Region, RegionKind};
use crate::Program;
use isa::Size;
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use uapi::ctx::skf::{SKF_LL_OFF, SKF_NET_OFF};

/// Where the legacy packet loads (`ldabs*`, `ldind*`) read: `len` bytes at
/// host address `start` (the kernel's `skb->data`), and the `mac_len` bytes
/// before it back to the link-layer header; always inside a region of the
/// run (checked by [`RunEnv::set_packet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketView {
    pub start: u64,
    pub len: u64,
    /// Offset of the network header in the packet, for the `SKF_NET_OFF`
    /// negative offsets of classic BPF (14 for Ethernet).
    pub network_offset: u32,
    /// Bytes from the link-layer (MAC) header to `start`: 0 where the data
    /// starts at it (tc), the Ethernet header for socket filters, whose
    /// data starts at the network header. `SKF_LL_OFF` counts from there.
    pub mac_len: u32,
}

impl PacketView {
    /// Byte offset from `start` that the kernel's `int` offset `k` of a
    /// legacy packet load means: non-negative values count from `start`,
    /// negative ones from the network header (`SKF_NET_OFF + n`) or the
    /// link-layer header (`SKF_LL_OFF + n`, up to `mac_len` bytes before
    /// `start`); anything below `SKF_LL_OFF` means nothing. Not
    /// bounds-checked.
    pub fn offset(&self, k: i32) -> Option<i64> {
        if k >= 0 {
            Some(i64::from(k))
        } else if k >= SKF_NET_OFF {
            Some(i64::from(self.network_offset) + i64::from(k - SKF_NET_OFF))
        } else if k >= SKF_LL_OFF {
            Some(i64::from(k - SKF_LL_OFF) - i64::from(self.mac_len))
        } else {
            None
        }
    }

    /// The host address of the `n` bytes at kernel offset `k`, if they lie
    /// in the packet (from its link-layer header to its end): the kernel's
    /// `ptr >= skb->head && ptr + size <= skb_tail_pointer(skb)`.
    pub fn address(&self, k: i32, n: u64) -> Option<u64> {
        let off = self.offset(k)?;
        let end = off.checked_add(i64::try_from(n).ok()?)?;
        if off < -i64::from(self.mac_len) || end > i64::try_from(self.len).ok()? {
            return None;
        }
        Some(self.start.wrapping_add_signed(off))
    }
}

/// Resolves `bpf_tail_call(ctx, prog_array, index)`: the program stored at
/// `index` of the prog-array map whose address the program passed. The map
/// crate implements it for prog arrays; `None` makes the tail call fail and
/// the program continue after it, as in the kernel.
pub trait TailCallHook {
    fn lookup(&self, prog_array: u64, index: u32) -> Option<Arc<Program>>;
}

/// The environment of one run. See the module documentation.
///
/// `'a` is the lifetime of the borrowed memory and host objects: the
/// environment holds only their addresses, and the borrow checker keeps them
/// alive and unaliased for as long as the environment exists.
pub struct RunEnv<'a> {
    pub(crate) mem: MemoryMap,
    pub(crate) checked: bool,
    packet: Option<PacketView>,
    worker: u32,
    host: Option<&'a mut dyn Any>,
    pub(crate) tail_calls: Option<&'a dyn TailCallHook>,
    pub(crate) fault: Option<HelperFault>,
    /// 1 while `fault` is set by [`RunEnv::fault`] and not yet taken by the
    /// JIT: one byte at a fixed offset ([`RunEnv::FAULT_PENDING_OFFSET`]),
    /// so compiled code tests it after a helper call with one `cmp`.
    fault_pending: u8,
    _borrows: PhantomData<&'a mut [u8]>,
}

impl Default for RunEnv<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RunEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunEnv")
            .field("regions", &self.mem.regions)
            .field("packet", &self.packet)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl<'a> RunEnv<'a> {
    /// An environment with no regions (only the stack is accessible).
    pub fn new() -> Self {
        RunEnv {
            mem: MemoryMap::default(),
            checked: true,
            packet: None,
            worker: 0,
            host: None,
            tail_calls: None,
            fault: None,
            fault_pending: 0,
            _borrows: PhantomData,
        }
    }

    /// Lets the program read and write `mem`; returns its address (what to
    /// put in the register that points at it).
    pub fn add_region(&mut self, mem: &'a mut [u8], kind: RegionKind) -> u64 {
        let r = Region::of_ptr(mem.as_mut_ptr(), mem.len(), true, kind);
        self.mem.regions.push(r);
        r.start
    }

    /// Lets the program read `mem`; stores to it are access errors in
    /// checked mode.
    pub fn add_readonly_region(&mut self, mem: &'a [u8], kind: RegionKind) -> u64 {
        let r = Region::of_ptr(mem.as_ptr(), mem.len(), false, kind);
        self.mem.regions.push(r);
        r.start
    }

    /// Adds a region given by address, for memory that is not a Rust borrow
    /// (a map's shared mapping, memory a helper hands out).
    ///
    /// # Safety
    /// `[start, start + len)` must be valid for reads (and writes if
    /// `writable`) for as long as this environment is used to run programs,
    /// and its address must have been exposed
    /// ([`pointer::expose_provenance`]). Other threads may access it
    /// concurrently only with atomics or through programs.
    pub unsafe fn add_raw_region(&mut self, region: Region) {
        self.mem.regions.push(region);
    }

    /// Removes every host region (the stack stays), for reusing the
    /// environment.
    pub fn clear_regions(&mut self) {
        self.mem.regions.clear();
        self.packet = None;
    }

    /// The host regions, in search order.
    pub fn regions(&self) -> &[Region] {
        &self.mem.regions
    }

    /// Sets where `BPF_ABS`/`BPF_IND` loads read. The span must lie inside
    /// one region already added; otherwise it is refused (returns `false`),
    /// which is what makes those loads safe in both modes.
    pub fn set_packet(&mut self, packet: PacketView) -> bool {
        let mac = u64::from(packet.mac_len);
        let ok = self
            .mem
            .regions
            .iter()
            .any(|r| r.contains(packet.start.wrapping_sub(mac), packet.len + mac));
        if ok {
            self.packet = Some(packet);
        }
        ok
    }

    /// The packet of the legacy loads, if the host set one.
    pub fn packet(&self) -> Option<PacketView> {
        self.packet
    }

    /// A legacy packet load (`BPF_LD | BPF_ABS/BPF_IND`): the big-endian
    /// value of `size` (B, H or W) at the kernel offset `k` of the packet
    /// (see [`PacketView::offset`]), or `None` when it lies outside the
    /// packet or there is no packet — the program then ends with r0 = 0, as
    /// the kernel's `bpf_skb_load_helper_*` failure path makes it. The
    /// interpreter executes `ldabs*`/`ldind*` with it, and a JIT's runtime
    /// shim can call it to get exactly the same answers.
    pub fn load_packet(&self, size: Size, k: i32) -> Option<u64> {
        let pkt = self.packet?;
        let n = size.bytes().min(4) as u64;
        let p = std::ptr::with_exposed_provenance::<u8>(pkt.address(k, n)? as usize);
        let mut b = [0u8; 4];
        // SAFETY: `set_packet` only accepts a packet lying inside a region of
        // the run, which the host guarantees valid for reads while the
        // environment lives (from the link-layer header on); `address`
        // checked that the `n` bytes lie within it, and `n` is at most 4,
        // the size of `b`.
        unsafe { std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), n as usize) };
        Some(match size {
            Size::B => b[0] as u64,
            Size::H => u16::from_be_bytes([b[0], b[1]]) as u64,
            _ => u32::from_be_bytes(b) as u64,
        })
    }

    /// Sets the worker index (what `bpf_get_smp_processor_id` returns and
    /// which slot per-CPU maps use).
    pub fn set_worker(&mut self, worker: u32) {
        self.worker = worker;
    }

    /// The worker index of the run.
    pub fn worker(&self) -> u32 {
        self.worker
    }

    /// Hands helpers a host object (the map runtime, a trace sink, …).
    pub fn set_host(&mut self, host: &'a mut dyn Any) {
        self.host = Some(host);
    }

    /// The host object, if it has type `T`.
    pub fn host<T: 'static>(&mut self) -> Option<&mut T> {
        self.host.as_deref_mut()?.downcast_mut()
    }

    /// Installs the resolver of `bpf_tail_call`.
    pub fn set_tail_calls(&mut self, hook: &'a dyn TailCallHook) {
        self.tail_calls = Some(hook);
    }

    /// Whether the current run checks memory accesses (helpers check their
    /// pointer arguments exactly when the interpreter does).
    pub fn is_checked(&self) -> bool {
        self.checked
    }

    /// For helpers: the host pointer for `len` bytes at program address
    /// `addr`, validated against the stack and regions in checked mode.
    pub fn translate(
        &self,
        addr: u64,
        len: u64,
        access: AccessKind,
    ) -> Result<*mut u8, HelperFault> {
        if self.checked && !self.mem.allows(addr, len, access) {
            return Err(HelperFault::BadPointer { addr, len, access });
        }
        Ok(std::ptr::with_exposed_provenance_mut(addr as usize))
    }

    /// For helpers: copies `out.len()` bytes from program address `addr`.
    pub fn read_bytes(&self, addr: u64, out: &mut [u8]) -> Result<(), HelperFault> {
        let p = self.translate(addr, out.len() as u64, AccessKind::Read)?;
        // SAFETY: in checked mode `translate` proved the span lies in a region
        // the host vouched for; in unchecked mode the verifier proved the
        // helper argument is valid for this size. `out` is a Rust borrow, so
        // it cannot overlap program memory that we only reach through `p`.
        unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// For helpers: copies `data` to program address `addr`.
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), HelperFault> {
        let p = self.translate(addr, data.len() as u64, AccessKind::Write)?;
        // SAFETY: as in `read_bytes`, with the region checked writable.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    /// For helpers: hands the program memory for the rest of the run (a ring
    /// buffer record, a per-CPU pointer). In checked mode the program may
    /// then access it.
    ///
    /// # Safety
    /// As [`RunEnv::add_raw_region`].
    pub unsafe fn grant(&mut self, region: Region) {
        self.mem.regions.push(region);
    }

    /// For helpers: stops the program after this helper returns, with
    /// [`crate::VmError::Helper`] naming the call.
    pub fn fault(&mut self, fault: HelperFault) {
        self.fault = Some(fault);
        self.fault_pending = 1;
    }
}

/// What JIT-compiled code (crate `oxbpf-jit`) needs of the environment: a
/// fault flag it can test without calling back into Rust, and the run
/// bracket the interpreter's [`crate::Machine::run`] does for itself.
impl RunEnv<'_> {
    /// Byte offset in `RunEnv` of a `u8` that is nonzero exactly while a
    /// helper fault is pending (set by [`RunEnv::fault`]).
    #[doc(hidden)]
    pub const FAULT_PENDING_OFFSET: usize = std::mem::offset_of!(RunEnv<'static>, fault_pending);

    /// Byte offset in `RunEnv` of the `u32` worker index
    /// ([`RunEnv::worker`]), which compiled code reads for inlined per-CPU
    /// array lookups.
    #[doc(hidden)]
    pub const WORKER_OFFSET: usize = std::mem::offset_of!(RunEnv<'static>, worker);

    /// Starts a run of compiled code: no fault pending, and helpers trust
    /// their pointer arguments as in the interpreter's unchecked mode (the
    /// JIT runs only verified or explicitly trusted programs). Returns the
    /// mark [`RunEnv::end_compiled_run`] takes.
    ///
    /// # Safety
    /// The program about to run must satisfy the contract of
    /// [`crate::Program::assume_verified`].
    #[doc(hidden)]
    #[inline]
    pub unsafe fn begin_compiled_run(&mut self) -> usize {
        self.fault = None;
        self.fault_pending = 0;
        self.checked = false;
        self.mem.regions.len()
    }

    /// Between two runs of compiled code in one bracket (the repetitions of
    /// a test run), after a run that ended without a fault: withdraws the
    /// regions helpers granted during it, as [`RunEnv::end_compiled_run`]
    /// would, and leaves the rest as [`RunEnv::begin_compiled_run`] set it.
    #[doc(hidden)]
    #[inline]
    pub fn next_compiled_run(&mut self, mark: usize) {
        self.mem.regions.truncate(mark);
    }

    /// Ends a run of compiled code: withdraws the regions helpers granted
    /// during it, makes the environment checked again, and returns the
    /// fault a helper reported, if any.
    #[doc(hidden)]
    #[inline]
    pub fn end_compiled_run(&mut self, mark: usize) -> Option<HelperFault> {
        self.mem.regions.truncate(mark);
        self.checked = true;
        self.fault_pending = 0;
        self.fault.take()
    }
}

/// Stack span bookkeeping for the interpreter.
impl RunEnv<'_> {
    #[inline(always)]
    pub(crate) fn set_stack(&mut self, lo: u64, hi: u64) {
        self.mem.stack_lo = lo;
        self.mem.stack_hi = hi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_must_lie_in_a_region() {
        let mut buf = [0u8; 64];
        let mut env = RunEnv::new();
        let start = env.add_region(&mut buf, RegionKind::Packet);
        assert!(!env.set_packet(PacketView {
            start,
            len: 65,
            network_offset: 14,
            mac_len: 0
        }));
        assert!(env.set_packet(PacketView {
            start: start + 4,
            len: 60,
            network_offset: 14,
            mac_len: 0
        }));
    }

    #[test]
    fn helper_copies_are_checked() {
        let mut buf = [1u8, 2, 3, 4];
        let mut env = RunEnv::new();
        let a = env.add_region(&mut buf, RegionKind::MapValue);
        let mut out = [0u8; 2];
        env.read_bytes(a + 2, &mut out).unwrap();
        assert_eq!(out, [3, 4]);
        assert!(matches!(
            env.read_bytes(a + 3, &mut out),
            Err(HelperFault::BadPointer { len: 2, .. })
        ));
        env.write_bytes(a, &[9]).unwrap();
        assert!(env.translate(a, 1, AccessKind::Read).is_ok());
        drop(env);
        assert_eq!(buf[0], 9);
    }
}
