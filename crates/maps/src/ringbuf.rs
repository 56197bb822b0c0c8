//! `ringbuf`: the kernel's multi-producer, single-consumer ring buffer.
//!
//! # Layout
//! ```text
//! page 0   common header
//! page 1   consumer page: consumer_pos (u64), consumer lock (u32)
//! page 2   producer page: producer_pos, pending_pos (u64), producer lock,
//!          wake-up sequence and sleeper count (u32)
//! page 3.. data: max_entries bytes, then the same pages mapped again
//! ```
//! The data pages are mapped twice in a row (see [`Region`]), so that a
//! record that wraps around the end is contiguous for the program writing it
//! and for the consumer reading it, exactly as the kernel maps them.
//!
//! A record is an 8-byte header `{ len: u32, pg_off: u32 }` and the sample,
//! padded to 8 bytes. `len` carries `BPF_RINGBUF_BUSY_BIT` from reserve until
//! submit and `BPF_RINGBUF_DISCARD_BIT` for discarded records. Producers
//! serialise on the producer lock only to advance `producer_pos`; they write
//! their samples in parallel and commit with one atomic exchange of `len`.
//!
//! # Crash consistency
//! The kernel's `pg_off` field locates the ring from a sample; here the map
//! handle is always known, so the field holds the producer's PID instead. A
//! producer killed between reserve and submit would otherwise block the
//! consumer forever behind a busy record: the consumer checks that PID and
//! turns the record of a dead producer into a discarded one.
//!
//! # Waking
//! Submit wakes sleepers when the consumer has caught up with the record (or
//! on `BPF_RB_FORCE_WAKEUP`, never on `BPF_RB_NO_WAKEUP`), as the kernel does.
//! Sleepers wait on a futex in the producer page, so a consumer in another
//! process is woken too; [`RingBuf::event_fd`] gives an `eventfd` that the
//! producers *of this process* signal, for hosts that poll fds.

use std::any::Any;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use uapi::map::ringbuf_flags::*;

use crate::error::{inval, MapError, Result};
use crate::region::Region;
use crate::spec::{MapSpec, PAGE_SIZE};
use crate::sync::{my_pid, process_is_dead, Guard, Notify};
use crate::MapOps;

const PAGE: usize = PAGE_SIZE as usize;
const CONS_POS: usize = PAGE;
const CONS_LOCK: usize = PAGE + 8;
const PROD_POS: usize = 2 * PAGE;
const PEND_POS: usize = 2 * PAGE + 8;
const PROD_LOCK: usize = 2 * PAGE + 16;
const SEQ: usize = 2 * PAGE + 20;
const SLEEPERS: usize = 2 * PAGE + 24;
const DATA: usize = 3 * PAGE;
/// `RINGBUF_MAX_RECORD_SZ`.
const MAX_RECORD: u64 = (u32::MAX / 4) as u64;
const HDR: u64 = BPF_RINGBUF_HDR_SZ as u64;

/// Region length and mirrored tail of a ring of `max_entries` bytes.
pub(crate) fn shape(spec: &MapSpec) -> (usize, usize) {
    let size = spec.max_entries as usize;
    (DATA + size, size)
}

/// A `ringbuf` map: producer operations for helpers and a consumer.
pub struct RingBuf {
    region: Region,
    size: u64,
    eventfds: Mutex<Vec<OwnedFd>>,
    has_eventfds: AtomicBool,
}

impl std::fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuf")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl RingBuf {
    pub(crate) fn new(spec: &MapSpec, region: Region) -> Self {
        RingBuf {
            region,
            size: u64::from(spec.max_entries),
            eventfds: Mutex::new(Vec::new()),
            has_eventfds: AtomicBool::new(false),
        }
    }

    fn pos(&self, off: usize) -> &AtomicU64 {
        self.region.u64_at(off)
    }

    fn mask(&self) -> u64 {
        self.size - 1
    }

    /// The `len` word of the record header at ring position `pos`.
    fn hdr_len(&self, pos: u64) -> &AtomicU32 {
        self.region.u32_at(DATA + (pos & self.mask()) as usize)
    }

    fn notify(&self) -> Notify<'_> {
        Notify {
            seq: self.region.u32_at(SEQ),
            sleepers: self.region.u32_at(SLEEPERS),
        }
    }

    /// `bpf_ringbuf_reserve`: room for a `size`-byte sample, or null when
    /// the ring is full, `size` is too big, or `flags` is not 0.
    pub fn reserve(&self, size: u64, flags: u64) -> *mut u8 {
        if flags != 0 || size > MAX_RECORD {
            return std::ptr::null_mut();
        }
        let len = (size + HDR + 7) & !7;
        if len > self.size {
            return std::ptr::null_mut();
        }
        let cons = self.pos(CONS_POS).load(Ordering::Acquire);
        let _g = Guard::new(self.region.u32_at(PROD_LOCK));
        let prod = self.pos(PROD_POS).load(Ordering::Relaxed);
        // Advance past records already committed, as the kernel's
        // pending_pos, so a slow producer cannot be overrun.
        let mut pend = self.pos(PEND_POS).load(Ordering::Relaxed);
        while pend < prod {
            let l = self.hdr_len(pend).load(Ordering::Acquire);
            if l & BPF_RINGBUF_BUSY_BIT != 0 {
                break;
            }
            pend += (u64::from(l & !BPF_RINGBUF_DISCARD_BIT) + HDR + 7) & !7;
        }
        self.pos(PEND_POS).store(pend, Ordering::Relaxed);
        let new_prod = prod + len;
        if new_prod - cons > self.mask() || new_prod - pend > self.mask() {
            return std::ptr::null_mut();
        }
        let hdr = DATA + (prod & self.mask()) as usize;
        self.region
            .u32_at(hdr + 4)
            .store(my_pid(), Ordering::Relaxed);
        self.region
            .u32_at(hdr)
            .store(size as u32 | BPF_RINGBUF_BUSY_BIT, Ordering::Release);
        self.pos(PROD_POS).store(new_prod, Ordering::Release);
        self.region.ptr(hdr + HDR as usize)
    }

    /// `bpf_ringbuf_submit`: commit a reserved sample.
    pub fn submit(&self, sample: *mut u8, flags: u64) -> Result<()> {
        self.commit(sample, flags, false)
    }

    /// `bpf_ringbuf_discard`: drop a reserved sample.
    pub fn discard(&self, sample: *mut u8, flags: u64) -> Result<()> {
        self.commit(sample, flags, true)
    }

    fn commit(&self, sample: *mut u8, flags: u64, discard: bool) -> Result<()> {
        let off = self
            .region
            .contains(sample, 0)
            .filter(|&o| o >= DATA + HDR as usize && o % 8 == 0)
            .ok_or_else(|| inval("pointer is not a sample of this ring buffer"))?;
        let rec = (off - DATA - HDR as usize) as u64 & self.mask();
        let word = self.hdr_len(rec);
        let cur = word.load(Ordering::Acquire);
        if cur & BPF_RINGBUF_BUSY_BIT == 0 {
            return Err(inval("sample already committed"));
        }
        let mut new = cur & !BPF_RINGBUF_BUSY_BIT;
        if discard {
            new |= BPF_RINGBUF_DISCARD_BIT;
        }
        word.swap(new, Ordering::AcqRel);
        let cons = self.pos(CONS_POS).load(Ordering::Acquire) & self.mask();
        if flags & BPF_RB_FORCE_WAKEUP != 0 || (flags & BPF_RB_NO_WAKEUP == 0 && cons == rec) {
            self.wake();
        }
        Ok(())
    }

    fn wake(&self) {
        self.notify().notify();
        if self.has_eventfds.load(Ordering::Acquire) {
            let fds = self.eventfds.lock().unwrap_or_else(|e| e.into_inner());
            for fd in fds.iter() {
                let one = 1u64.to_ne_bytes();
                // SAFETY: writing 8 bytes from a live buffer to our eventfd.
                unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), 8) };
            }
        }
    }

    /// `bpf_ringbuf_output`: copy `data` in as one record.
    pub fn output(&self, data: &[u8], flags: u64) -> Result<()> {
        if flags & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
            return Err(inval("unknown ringbuf output flag"));
        }
        let p = self.reserve(data.len() as u64, 0);
        if p.is_null() {
            return Err(MapError::Again {
                reason: "ring buffer full",
            });
        }
        let off = self
            .region
            .contains(p, data.len())
            .expect("reserved in ring");
        self.region.write(off, data);
        self.submit(p, flags)
    }

    /// `bpf_ringbuf_query`.
    pub fn query(&self, flags: u64) -> u64 {
        let cons = self.pos(CONS_POS).load(Ordering::Acquire);
        let prod = self.pos(PROD_POS).load(Ordering::Acquire);
        match flags {
            BPF_RB_AVAIL_DATA => prod.wrapping_sub(cons),
            BPF_RB_RING_SIZE => self.size,
            BPF_RB_CONS_POS => cons,
            BPF_RB_PROD_POS => prod,
            _ => 0,
        }
    }

    /// The consumer side (one consumer at a time; others wait for it).
    pub fn consumer(&self) -> RingConsumer<'_> {
        RingConsumer { rb: self }
    }

    /// An `eventfd` (non-blocking) that becomes readable when producers of
    /// this process wake the consumer. It lives as long as the map handle.
    pub fn event_fd(&self) -> Result<RawFd> {
        // SAFETY: creates a new fd; no memory is passed.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(MapError::Io {
                op: "eventfd",
                path: String::new(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: fd was just created and is owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        self.eventfds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(owned);
        self.has_eventfds.store(true, Ordering::Release);
        Ok(fd)
    }

    /// Whether a committed record waits at the consumer position.
    fn ready(&self) -> bool {
        let cons = self.pos(CONS_POS).load(Ordering::Acquire);
        let prod = self.pos(PROD_POS).load(Ordering::Acquire);
        cons < prod && self.hdr_len(cons).load(Ordering::Acquire) & BPF_RINGBUF_BUSY_BIT == 0
    }
}

/// Reads records in order, as libbpf's `ring_buffer__poll` does.
#[derive(Debug)]
pub struct RingConsumer<'a> {
    rb: &'a RingBuf,
}

impl RingConsumer<'_> {
    /// Hand every committed sample to `f`, oldest first, and release its
    /// space. Stops at the first record still being written. Returns the
    /// number of samples given to `f` (discarded records are skipped).
    pub fn poll(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let rb = self.rb;
        let _g = Guard::new(rb.region.u32_at(CONS_LOCK));
        let mut n = 0;
        let mut cons = rb.pos(CONS_POS).load(Ordering::Acquire);
        loop {
            let prod = rb.pos(PROD_POS).load(Ordering::Acquire);
            if cons >= prod {
                return n;
            }
            let word = rb.hdr_len(cons);
            let mut len = word.load(Ordering::Acquire);
            if len & BPF_RINGBUF_BUSY_BIT != 0 {
                let hdr = DATA + (cons & rb.mask()) as usize;
                let pid = rb.region.u32_at(hdr + 4).load(Ordering::Relaxed);
                if !process_is_dead(pid) {
                    return n;
                }
                // The producer died holding this record: discard it.
                let dead = (len & !BPF_RINGBUF_BUSY_BIT) | BPF_RINGBUF_DISCARD_BIT;
                if word
                    .compare_exchange(len, dead, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    continue;
                }
                len = dead;
            }
            let size = u64::from(len & !BPF_RINGBUF_DISCARD_BIT);
            if len & BPF_RINGBUF_DISCARD_BIT == 0 {
                let off = DATA + (cons & rb.mask()) as usize + HDR as usize;
                // Contiguous thanks to the mirror mapping.
                let mut buf = vec![0u8; size as usize];
                rb.region.read(off, &mut buf);
                f(&buf);
                n += 1;
            }
            cons += (size + HDR + 7) & !7;
            rb.pos(CONS_POS).store(cons, Ordering::Release);
        }
    }

    /// Block until a record can be consumed or `timeout` passes (`None`:
    /// forever). Producers in any process sharing the map wake it.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.rb.notify().wait(timeout, || self.rb.ready())
    }

    /// Bytes produced but not yet consumed.
    pub fn available(&self) -> u64 {
        self.rb.query(BPF_RB_AVAIL_DATA)
    }
}

impl MapOps for RingBuf {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
