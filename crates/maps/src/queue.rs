//! `queue` (FIFO) and `stack` (LIFO): a ring of `max_entries + 1` value slots
//! (one always empty, to tell full from empty), as the kernel's
//! `bpf_queue_stack`.
//!
//! Layout after the header: `{ lock, head, tail }` in a 64-byte control
//! block, then the slots. `head` is where the next push goes, `tail` the
//! oldest element. Every operation runs under the lock and publishes with a
//! single store of `head` or `tail` after the value is copied, so a crash
//! loses at most the element being pushed or popped.
//!
//! Kernel facts (checked on Linux 6.18): a push into a full map is `E2BIG`
//! unless `BPF_EXIST`, which drops the oldest element (for both queue and
//! stack); `BPF_NOEXIST` is `EINVAL`; pop and peek of an empty map are
//! `ENOENT`; delete and `get_next_key` are `EINVAL`.

use std::any::Any;
use std::sync::atomic::{AtomicU32, Ordering};

use uapi::map::update_flags::{BPF_EXIST, BPF_NOEXIST};
use uapi::MapType;

use crate::error::{inval, MapError, Result};
use crate::header::HEADER_SIZE;
use crate::region::Region;
use crate::spec::MapSpec;
use crate::sync::Guard;
use crate::{CheckReport, MapOps};

const LOCK: usize = HEADER_SIZE;
const HEAD: usize = HEADER_SIZE + 4;
const TAIL: usize = HEADER_SIZE + 8;
const SLOTS: usize = HEADER_SIZE + 64;

pub(crate) fn body_len(spec: &MapSpec) -> Result<u64> {
    (u64::from(spec.max_entries) + 1)
        .checked_mul(spec.value_slot() as u64)
        .and_then(|b| b.checked_add(64))
        .ok_or(MapError::NoMemory { bytes: u64::MAX })
}

pub(crate) struct QueueMap {
    region: Region,
    size: u32,
    slot: usize,
    value_size: usize,
    stack: bool,
}

impl QueueMap {
    pub(crate) fn new(spec: &MapSpec, region: Region) -> Self {
        QueueMap {
            region,
            size: spec.max_entries + 1,
            slot: spec.value_slot(),
            value_size: spec.value_size as usize,
            stack: spec.map_type == MapType::Stack,
        }
    }

    fn word(&self, off: usize) -> &AtomicU32 {
        self.region.u32_at(off)
    }

    fn slot_off(&self, i: u32) -> usize {
        SLOTS + i as usize * self.slot
    }

    /// Copy the element that pop/peek would take into `out`; if `take`,
    /// remove it.
    fn take(&self, out: &mut [u8], take: bool) -> Result<()> {
        let _g = Guard::new(self.word(LOCK));
        let head = self.word(HEAD).load(Ordering::Acquire);
        let tail = self.word(TAIL).load(Ordering::Acquire);
        if head == tail {
            return Err(MapError::NotFound);
        }
        if self.stack {
            let top = if head == 0 { self.size - 1 } else { head - 1 };
            self.region
                .read(self.slot_off(top), &mut out[..self.value_size]);
            if take {
                self.word(HEAD).store(top, Ordering::Release);
            }
        } else {
            self.region
                .read(self.slot_off(tail), &mut out[..self.value_size]);
            if take {
                self.word(TAIL)
                    .store((tail + 1) % self.size, Ordering::Release);
            }
        }
        Ok(())
    }

    fn len(&self) -> u32 {
        let head = self.word(HEAD).load(Ordering::Acquire);
        let tail = self.word(TAIL).load(Ordering::Acquire);
        (head + self.size - tail) % self.size
    }
}

impl MapOps for QueueMap {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, _key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        self.take(out, false)
    }

    fn update(&self, _key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.push(value, flags)
    }

    fn delete(&self, _key: &[u8]) -> Result<()> {
        Err(inval("queue/stack elements are popped, not deleted"))
    }

    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<()> {
        Err(inval("queue/stack have no keys"))
    }

    fn lookup_and_delete(&self, _key: &[u8], out: &mut [u8], flags: u64) -> Result<()> {
        if flags != 0 {
            return Err(inval("pop takes no flags"));
        }
        self.take(out, true)
    }

    fn push(&self, value: &[u8], flags: u64) -> Result<()> {
        if flags & BPF_NOEXIST != 0 || flags > BPF_EXIST {
            return Err(inval("push takes BPF_ANY or BPF_EXIST"));
        }
        let _g = Guard::new(self.word(LOCK));
        let head = self.word(HEAD).load(Ordering::Acquire);
        let tail = self.word(TAIL).load(Ordering::Acquire);
        let next = (head + 1) % self.size;
        if next == tail {
            if flags != BPF_EXIST {
                return Err(MapError::TooBig {
                    reason: "queue/stack is full",
                });
            }
            // Drop the oldest element to make room.
            self.word(TAIL)
                .store((tail + 1) % self.size, Ordering::Release);
        }
        self.region.write(self.slot_off(head), value);
        self.word(HEAD).store(next, Ordering::Release);
        Ok(())
    }

    fn pop(&self, out: &mut [u8]) -> Result<()> {
        self.take(out, true)
    }

    fn peek(&self, out: &mut [u8]) -> Result<()> {
        self.take(out, false)
    }

    fn check(&self) -> Result<CheckReport> {
        let live = u64::from(self.len());
        Ok(CheckReport {
            live,
            free: u64::from(self.size - 1) - live,
            leaked: 0,
            ..Default::default()
        })
    }
}
