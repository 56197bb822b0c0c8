//! Batch operations (`BPF_MAP_LOOKUP_BATCH` and friends) with the kernel's
//! cursor semantics.
//!
//! Two cursors exist, as in the kernel:
//! - generic maps (arrays, LPM trie, array_of_maps) walk with
//!   `get_next_key`; the cursor is the last key returned, and a cursor that
//!   is not a key restarts from the first key, as `get_next_key` does;
//! - hash maps copy whole buckets; the cursor is a `u32` bucket index. A
//!   bucket that does not fit in the room left stops the batch, with
//!   `ENOSPC` if nothing was copied yet.
//!
//! Reaching the end is the kernel's `ENOENT` *with* the elements copied so
//! far: [`BatchLookup::end`] says so (its [`BatchLookup::errno`] is ENOENT).

use uapi::map::update_flags::BPF_F_LOCK;

use crate::error::{inval, MapError, Result};
use crate::Map;

/// Which cursor a map's lookup batch uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cursor {
    Key,
    Bucket,
}

/// The elements of one hash bucket, or just their number if they did not
/// fit in the room given.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    pub count: u32,
    pub keys: Vec<u8>,
    pub values: Vec<u8>,
}

/// The answer to a lookup batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchLookup {
    /// `count` keys, back to back.
    pub keys: Vec<u8>,
    /// `count` values (syscall value size each), back to back.
    pub values: Vec<u8>,
    pub count: u32,
    /// Where the next call starts (`in_batch`); `None` when the kernel would
    /// not write `out_batch` (nothing copied by a generic batch).
    pub out_batch: Option<Vec<u8>>,
    /// The end was reached: the kernel returns `-ENOENT` with this data.
    pub end: bool,
}

impl BatchLookup {
    /// The errno the kernel returns along with this data (0 or ENOENT).
    pub fn errno(&self) -> i32 {
        if self.end {
            uapi::errno::ENOENT
        } else {
            0
        }
    }
}

/// The answer to an update or delete batch: how many elements were done
/// before the first error, and that error.
#[derive(Debug)]
pub struct BatchWritten {
    pub count: u32,
    pub result: Result<()>,
}

impl Map {
    fn batch_flags(&self, elem_flags: u64, flags: u64) -> Result<bool> {
        if flags != 0 {
            return Err(inval("batch flags must be 0"));
        }
        if elem_flags & !BPF_F_LOCK != 0 {
            return Err(inval("only BPF_F_LOCK is an element flag of batches"));
        }
        let lock = elem_flags & BPF_F_LOCK != 0;
        if lock && self.spec().spin_lock_off.is_none() {
            return Err(inval("BPF_F_LOCK on a value without bpf_spin_lock"));
        }
        Ok(lock)
    }

    /// `BPF_MAP_LOOKUP_BATCH`: up to `count` elements from `in_batch`
    /// (`None`: from the start).
    pub fn lookup_batch(
        &self,
        in_batch: Option<&[u8]>,
        count: u32,
        elem_flags: u64,
        flags: u64,
    ) -> Result<BatchLookup> {
        self.batch_lookup(in_batch, count, elem_flags, flags, false)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_BATCH` (hash maps).
    pub fn lookup_and_delete_batch(
        &self,
        in_batch: Option<&[u8]>,
        count: u32,
        elem_flags: u64,
        flags: u64,
    ) -> Result<BatchLookup> {
        self.batch_lookup(in_batch, count, elem_flags, flags, true)
    }

    fn batch_lookup(
        &self,
        in_batch: Option<&[u8]>,
        count: u32,
        elem_flags: u64,
        flags: u64,
        delete: bool,
    ) -> Result<BatchLookup> {
        let ops = self.ops.batch_ops();
        let cursor = match ops.lookup {
            Some(c) if !delete || ops.lookup_and_delete => c,
            _ => return Err(MapError::NotSupported),
        };
        if delete {
            self.can_write()?;
        } else {
            self.can_read()?;
        }
        let lock = self.batch_flags(elem_flags, flags)?;
        if count == 0 {
            return Ok(BatchLookup::default());
        }
        match cursor {
            Cursor::Key => self.generic_lookup_batch(in_batch, count, lock),
            Cursor::Bucket => self.bucket_lookup_batch(in_batch, count, delete, lock),
        }
    }

    fn generic_lookup_batch(
        &self,
        in_batch: Option<&[u8]>,
        count: u32,
        lock: bool,
    ) -> Result<BatchLookup> {
        if let Some(k) = in_batch {
            self.check_key(k)?;
        }
        let mut out = BatchLookup::default();
        let mut prev: Option<Vec<u8>> = in_batch.map(<[u8]>::to_vec);
        let vsize = self.syscall_value_size();
        let mut value = vec![0u8; vsize];
        while out.count < count {
            let key = match self.get_next_key(prev.as_deref()) {
                Ok(k) => k,
                Err(MapError::NotFound) => {
                    out.end = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            match self.ops.lookup(&key, &mut value, lock) {
                Ok(()) => {
                    out.keys.extend_from_slice(&key);
                    out.values.extend_from_slice(&value);
                    out.count += 1;
                }
                // Deleted meanwhile, or an empty fd-array slot: skip it.
                Err(MapError::NotFound) => {}
                Err(e) => return Err(e),
            }
            prev = Some(key);
        }
        if out.count > 0 {
            out.out_batch = prev;
        }
        Ok(out)
    }

    fn bucket_lookup_batch(
        &self,
        in_batch: Option<&[u8]>,
        count: u32,
        delete: bool,
        lock: bool,
    ) -> Result<BatchLookup> {
        let mut bucket = match in_batch {
            None => 0,
            Some(b) => u32::from_ne_bytes(
                b.try_into()
                    .map_err(|_| inval("hash batch cursor is a u32"))?,
            ),
        };
        let mut out = BatchLookup::default();
        let Some(mut cur) = self.ops.bucket_batch(bucket, count, delete, lock) else {
            out.end = true;
            return Ok(out);
        };
        loop {
            if cur.count > count - out.count {
                if out.count == 0 {
                    return Err(MapError::NoSpace {
                        reason: "a hash bucket holds more elements than count",
                    });
                }
                break;
            }
            out.keys.append(&mut cur.keys);
            out.values.append(&mut cur.values);
            out.count += cur.count;
            bucket += 1;
            match self
                .ops
                .bucket_batch(bucket, count - out.count, delete, lock)
            {
                Some(next) => cur = next,
                None => {
                    out.end = true;
                    break;
                }
            }
        }
        out.out_batch = Some(bucket.to_ne_bytes().to_vec());
        Ok(out)
    }

    /// `BPF_MAP_UPDATE_BATCH`: `count` keys and values back to back; stops
    /// at the first error.
    pub fn update_batch(
        &self,
        keys: &[u8],
        values: &[u8],
        count: u32,
        elem_flags: u64,
        flags: u64,
    ) -> BatchWritten {
        let pre = (|| {
            if !self.ops.batch_ops().update {
                return Err(MapError::NotSupported);
            }
            self.can_write()?;
            self.batch_flags(elem_flags, flags)?;
            let (ks, vs) = (self.spec().key_size as usize, self.syscall_value_size());
            if keys.len() != ks * count as usize || values.len() != vs * count as usize {
                return Err(inval("batch buffers do not hold count elements"));
            }
            Ok((ks, vs))
        })();
        let (ks, vs) = match pre {
            Ok(s) => s,
            Err(e) => {
                return BatchWritten {
                    count,
                    result: Err(e),
                }
            }
        };
        for i in 0..count as usize {
            let k = &keys[i * ks..(i + 1) * ks];
            let v = &values[i * vs..(i + 1) * vs];
            if let Err(e) = self.update(k, v, elem_flags) {
                return BatchWritten {
                    count: i as u32,
                    result: Err(e),
                };
            }
        }
        BatchWritten {
            count,
            result: Ok(()),
        }
    }

    /// `BPF_MAP_DELETE_BATCH`: `count` keys back to back; stops at the first
    /// error (`ENOENT` for a missing key).
    pub fn delete_batch(
        &self,
        keys: &[u8],
        count: u32,
        elem_flags: u64,
        flags: u64,
    ) -> BatchWritten {
        let pre = (|| {
            if !self.ops.batch_ops().delete {
                return Err(MapError::NotSupported);
            }
            self.can_write()?;
            self.batch_flags(elem_flags, flags)?;
            let ks = self.spec().key_size as usize;
            if keys.len() != ks * count as usize {
                return Err(inval("batch buffer does not hold count keys"));
            }
            Ok(ks)
        })();
        let ks = match pre {
            Ok(s) => s,
            Err(e) => {
                return BatchWritten {
                    count,
                    result: Err(e),
                }
            }
        };
        for i in 0..count as usize {
            if let Err(e) = self.delete(&keys[i * ks..(i + 1) * ks]) {
                return BatchWritten {
                    count: i as u32,
                    result: Err(e),
                };
            }
        }
        BatchWritten {
            count,
            result: Ok(()),
        }
    }
}
