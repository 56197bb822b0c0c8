//! `perf_event_array`: per-CPU record buffers, what `bpf_perf_event_output`
//! writes to and a perf-buffer reader (libbpf's `perf_buffer`) consumes.
//!
//! In the kernel each slot holds a perf event fd opened on one CPU, and the
//! event owns an mmap'ed ring. Here the map owns one ring per worker, in the
//! region; a slot is "set" (enabled) by a syscall update with any `u32` (the
//! registry may store an event id there) and cleared by delete.
//!
//! # Layout (after the header)
//! ```text
//! control  wake-up sequence, sleeper count                 64 bytes
//! slots    max_entries × u64  (1 << 32 | value, or 0)
//! rings    per worker, page-aligned: a page { data_head, data_tail,
//!          lost (u64), producer lock, consumer lock (u32) }, then
//!          perf_buffer_pages pages of data
//! ```
//! Records are perf's: `struct perf_event_header { u32 type; u16 misc; u16
//! size }`, then for `PERF_RECORD_SAMPLE` (9) a `u32` raw size and the raw
//! bytes, zero-padded so the record is 8-aligned (the raw size counts the
//! padding, as the kernel's does); `PERF_RECORD_LOST` (2) carries `{ u64 id;
//! u64 lost }` and is emitted before the next sample that fits after drops.
//! Records may wrap around the end of the data area; the producer publishes
//! a record with one release store of `data_head` after writing it, so a
//! crash leaves at worst a record that was never published.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use uapi::map::update_flags::BPF_ANY;
use uapi::map::BPF_F_CURRENT_CPU;

use crate::error::{inval, MapError, Result};
use crate::header::{HeaderEnv, HEADER_SIZE};
use crate::region::Region;
use crate::spec::{MapSpec, PAGE_SIZE};
use crate::sync::{Guard, Notify};
use crate::{index_of, CheckReport, MapOps};

const PAGE: u64 = PAGE_SIZE as u64;
const SEQ: usize = HEADER_SIZE;
const SLEEPERS: usize = HEADER_SIZE + 4;
const SLOTS: usize = HEADER_SIZE + 64;
const PRESENT: u64 = 1 << 32;
/// `BPF_F_CTXLEN_MASK`: context bytes to append, for the helper layer.
const CTXLEN_MASK: u64 = 0xfffff << 32;
const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;

fn rings_off(spec: &MapSpec) -> u64 {
    (SLOTS as u64 + 8 * u64::from(spec.max_entries)).next_multiple_of(PAGE)
}

pub(crate) fn body_len(spec: &MapSpec, env: &HeaderEnv) -> Result<u64> {
    let ring = PAGE + PAGE * u64::from(env.perf_pages);
    Ok(rings_off(spec) + ring * u64::from(env.ncpus) - HEADER_SIZE as u64)
}

/// One record read from a perf buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// The raw sample (padded as the kernel pads it).
    Sample(&'a [u8]),
    /// Samples dropped because the buffer was full.
    Lost(u64),
}

/// A `perf_event_array` map.
#[derive(Debug)]
pub struct PerfEventArray {
    region: Region,
    max: u32,
    ncpus: u32,
    rings: usize,
    ring_stride: usize,
    data_size: u64,
}

impl PerfEventArray {
    pub(crate) fn new(spec: &MapSpec, env: HeaderEnv, region: Region) -> Self {
        let data_size = PAGE * u64::from(env.perf_pages);
        PerfEventArray {
            region,
            max: spec.max_entries,
            ncpus: env.ncpus,
            rings: rings_off(spec) as usize,
            ring_stride: (PAGE + data_size) as usize,
            data_size,
        }
    }

    fn slot(&self, idx: u32) -> &AtomicU64 {
        self.region.u64_at(SLOTS + idx as usize * 8)
    }
    fn ring(&self, cpu: u32) -> usize {
        self.rings + cpu as usize * self.ring_stride
    }
    fn head(&self, cpu: u32) -> &AtomicU64 {
        self.region.u64_at(self.ring(cpu))
    }
    fn tail(&self, cpu: u32) -> &AtomicU64 {
        self.region.u64_at(self.ring(cpu) + 8)
    }
    fn lost(&self, cpu: u32) -> &AtomicU64 {
        self.region.u64_at(self.ring(cpu) + 16)
    }
    fn notify(&self) -> Notify<'_> {
        Notify {
            seq: self.region.u32_at(SEQ),
            sleepers: self.region.u32_at(SLEEPERS),
        }
    }

    /// Copy `bytes` into `cpu`'s ring at position `pos`, wrapping.
    fn put(&self, cpu: u32, pos: u64, bytes: &[u8]) {
        let data = self.ring(cpu) + PAGE as usize;
        let at = (pos % self.data_size) as usize;
        let first = bytes.len().min(self.data_size as usize - at);
        self.region.write(data + at, &bytes[..first]);
        self.region.write(data, &bytes[first..]);
    }

    fn get(&self, cpu: u32, pos: u64, out: &mut [u8]) {
        let data = self.ring(cpu) + PAGE as usize;
        let at = (pos % self.data_size) as usize;
        let first = out.len().min(self.data_size as usize - at);
        self.region.read(data + at, &mut out[..first]);
        self.region.read(data, &mut out[first..]);
    }

    /// `bpf_perf_event_output` from a program on worker `cpu`.
    pub fn output(&self, cpu: u32, flags: u64, data: &[u8]) -> Result<()> {
        if flags & !(uapi::map::BPF_F_INDEX_MASK | CTXLEN_MASK) != 0 {
            return Err(inval("unknown perf output flag"));
        }
        let mut index = flags & uapi::map::BPF_F_INDEX_MASK;
        if index == BPF_F_CURRENT_CPU {
            index = u64::from(cpu);
        }
        if index >= u64::from(self.max) {
            return Err(MapError::TooBig {
                reason: "perf index beyond max_entries",
            });
        }
        if self.slot(index as u32).load(Ordering::Acquire) & PRESENT == 0 {
            return Err(MapError::NotFound);
        }
        if index != u64::from(cpu) || cpu >= self.ncpus {
            return Err(MapError::OpNotSupported {
                reason: "perf event of another CPU",
            });
        }
        let raw = (data.len() + 4).next_multiple_of(8) - 4;
        let size = 8 + 4 + raw;
        if size > usize::from(u16::MAX) {
            return Err(MapError::TooBig {
                reason: "perf record larger than 64 KiB",
            });
        }
        let _g = Guard::new(self.region.u32_at(self.ring(cpu) + 24));
        let mut head = self.head(cpu).load(Ordering::Relaxed);
        let tail = self.tail(cpu).load(Ordering::Acquire);
        let lost = self.lost(cpu).load(Ordering::Relaxed);
        let lost_len = if lost > 0 { 24 } else { 0 };
        if head - tail + (size + lost_len) as u64 > self.data_size {
            self.lost(cpu).fetch_add(1, Ordering::Relaxed);
            return Err(MapError::NoSpace {
                reason: "perf buffer full",
            });
        }
        if lost > 0 {
            let mut rec = Vec::with_capacity(24);
            rec.extend_from_slice(&PERF_RECORD_LOST.to_ne_bytes());
            rec.extend_from_slice(&0u16.to_ne_bytes());
            rec.extend_from_slice(&24u16.to_ne_bytes());
            rec.extend_from_slice(&0u64.to_ne_bytes());
            rec.extend_from_slice(&lost.to_ne_bytes());
            self.put(cpu, head, &rec);
            head += 24;
            self.lost(cpu).store(0, Ordering::Relaxed);
        }
        let mut rec = Vec::with_capacity(size);
        rec.extend_from_slice(&PERF_RECORD_SAMPLE.to_ne_bytes());
        rec.extend_from_slice(&0u16.to_ne_bytes());
        rec.extend_from_slice(&(size as u16).to_ne_bytes());
        rec.extend_from_slice(&(raw as u32).to_ne_bytes());
        rec.extend_from_slice(data);
        rec.resize(size, 0);
        self.put(cpu, head, &rec);
        self.head(cpu).store(head + size as u64, Ordering::Release);
        self.notify().notify();
        Ok(())
    }

    /// The reader of the per-CPU buffers.
    pub fn consumer(&self) -> PerfConsumer<'_> {
        PerfConsumer { pa: self }
    }

    fn has_data(&self) -> bool {
        (0..self.ncpus)
            .any(|c| self.head(c).load(Ordering::Acquire) != self.tail(c).load(Ordering::Acquire))
    }
}

/// Reads records of every CPU's buffer, as libbpf's `perf_buffer__poll`.
#[derive(Debug)]
pub struct PerfConsumer<'a> {
    pa: &'a PerfEventArray,
}

impl PerfConsumer<'_> {
    /// Hand every record to `f(cpu, record)`, CPU by CPU, oldest first, and
    /// release its space. Returns the number of records.
    pub fn poll(&mut self, mut f: impl FnMut(u32, PerfRecord<'_>)) -> usize {
        let pa = self.pa;
        let mut n = 0;
        for cpu in 0..pa.ncpus {
            let _g = Guard::new(pa.region.u32_at(pa.ring(cpu) + 28));
            let head = pa.head(cpu).load(Ordering::Acquire);
            let mut tail = pa.tail(cpu).load(Ordering::Acquire);
            while tail < head {
                let mut hdr = [0u8; 8];
                pa.get(cpu, tail, &mut hdr);
                let kind = u32::from_ne_bytes(hdr[..4].try_into().expect("4"));
                let size = u64::from(u16::from_ne_bytes(hdr[6..8].try_into().expect("2")));
                if size < 8 || tail + size > head {
                    // Not a record we wrote: drop the rest of this buffer.
                    tail = head;
                    break;
                }
                let mut body = vec![0u8; size as usize - 8];
                pa.get(cpu, tail + 8, &mut body);
                match kind {
                    PERF_RECORD_SAMPLE if body.len() >= 4 => {
                        let raw = u32::from_ne_bytes(body[..4].try_into().expect("4")) as usize;
                        let end = (4 + raw).min(body.len());
                        f(cpu, PerfRecord::Sample(&body[4..end]));
                    }
                    PERF_RECORD_LOST if body.len() >= 16 => {
                        let lost = u64::from_ne_bytes(body[8..16].try_into().expect("8"));
                        f(cpu, PerfRecord::Lost(lost));
                    }
                    _ => {}
                }
                n += 1;
                tail += size;
            }
            pa.tail(cpu).store(tail, Ordering::Release);
        }
        n
    }

    /// Block until some buffer has a record or `timeout` passes.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.pa.notify().wait(timeout, || self.pa.has_data())
    }
}

impl MapOps for PerfEventArray {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        if flags != BPF_ANY {
            return Err(inval("fd arrays only take BPF_ANY"));
        }
        let idx = index_of(key);
        if idx >= self.max {
            return Err(MapError::TooBig {
                reason: "array index beyond max_entries",
            });
        }
        let v = u32::from_ne_bytes(value.try_into().expect("value_size 4"));
        self.slot(idx)
            .store(PRESENT | u64::from(v), Ordering::Release);
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        let idx = index_of(key);
        if idx >= self.max {
            return Err(MapError::TooBig {
                reason: "array index beyond max_entries",
            });
        }
        if self.slot(idx).swap(0, Ordering::AcqRel) & PRESENT == 0 {
            return Err(MapError::NotFound);
        }
        Ok(())
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<()> {
        let n = match key.map(index_of) {
            Some(i) if i < self.max => {
                if i == self.max - 1 {
                    return Err(MapError::NotFound);
                }
                i + 1
            }
            _ => 0,
        };
        next.copy_from_slice(&n.to_ne_bytes());
        Ok(())
    }

    fn check(&self) -> Result<CheckReport> {
        Ok(CheckReport::default())
    }
}
