//! Arrays whose values name where a program sends something: `devmap`
//! (network devices), `cpumap` (CPUs), `xskmap` (AF_XDP sockets) and
//! `sockmap` (sockets). Programs reach them through `bpf_redirect_map` /
//! `bpf_sk_redirect_map`; user space fills them.
//!
//! # What is stored
//! The kernel turns the value it is given into an object reference (a
//! `net_device`, a kthread with a queue, a socket) and hands back an
//! identifier. In user space there is no such object, so each slot stores
//! the numbers themselves, and [`crate::Map::redirect_target`] gives them to
//! the runtime's helpers:
//! - devmap: `{ ifindex, prog_id }` (`struct bpf_devmap_val`). The kernel
//!   checks that the ifindex exists (`EINVAL` otherwise); we accept any
//!   non-zero one. The second word is what the caller put in
//!   `bpf_prog.fd`: the syscall layer translates a program fd into its id
//!   before calling us, as for `prog_array`; a non-positive fd means "no
//!   program", as in the kernel;
//! - cpumap: `{ qsize, prog_id }` (`struct bpf_cpumap_val`), same rule for
//!   the program;
//! - xskmap: the socket number given (the kernel keeps the `xdp_sock`);
//! - sockmap: a `u64` socket cookie — what the kernel's syscall lookup
//!   returns. [`crate::Map::update`] takes the kernel ABI value (a socket
//!   fd) and stores that number as the cookie;
//!   [`crate::Map::sock_update`] stores a real cookie the caller resolved.
//!
//! # Layout
//! After the header, `max_entries` slots of one `AtomicU64` each, `0` =
//! empty, so every update and delete is one atomic store (or swap): there is
//! nothing a crash can tear.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use uapi::map::update_flags::{BPF_EXIST, BPF_NOEXIST};
use uapi::MapType;

use crate::error::{inval, MapError, Result};
use crate::header::HEADER_SIZE;
use crate::region::Region;
use crate::spec::MapSpec;
use crate::{index_of, CheckReport, MapOps, RedirectTarget};

/// The kernel's sanity limit on a cpumap queue (`qsize > 16384` is
/// `EOVERFLOW`).
pub const CPUMAP_MAX_QSIZE: u32 = 16384;

/// xskmap slots carry this bit so that socket number 0 is storable.
const XSK_PRESENT: u64 = 1 << 32;

pub(crate) fn body_len(spec: &MapSpec) -> u64 {
    u64::from(spec.max_entries) * 8
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dev,
    Cpu,
    Xsk,
    Sock,
}

pub(crate) struct TargetArray {
    region: Region,
    max: u32,
    kind: Kind,
    value_size: usize,
    ncpus: u32,
}

/// The two 32-bit words of a devmap/cpumap value; the second is 0 when the
/// value is only 4 bytes.
pub(crate) fn value_words(value: &[u8]) -> (u32, i32) {
    let first = u32::from_ne_bytes(value[..4].try_into().expect("value_size >= 4"));
    let second = value
        .get(4..8)
        .map_or(0, |b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
    (first, second)
}

/// Pack `{ first, prog }` as the slot stores it: the program word only if
/// the given fd/id is positive (the kernel's `bpf_prog.fd > 0`).
pub(crate) fn pack(first: u32, prog: i32) -> u64 {
    let prog = if prog > 0 { prog as u32 } else { 0 };
    u64::from(first) | (u64::from(prog) << 32)
}

/// Copy a packed `{ first, prog }` slot out as the value bytes.
pub(crate) fn unpack_into(slot: u64, out: &mut [u8]) {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&(slot as u32).to_ne_bytes());
    bytes[4..].copy_from_slice(&((slot >> 32) as u32).to_ne_bytes());
    let n = out.len().min(8);
    out[..n].copy_from_slice(&bytes[..n]);
}

/// The socket number of a sockmap/sockhash value (the kernel ABI's fd, 4
/// or 8 bytes); above `S32_MAX` is `EINVAL`, as `sock_map_update_elem_sys`.
pub(crate) fn sock_fd(value: &[u8]) -> Result<u64> {
    let fd = match value.len() {
        8 => u64::from_ne_bytes(value.try_into().expect("8 bytes")),
        _ => u64::from(u32::from_ne_bytes(value[..4].try_into().expect("4 bytes"))),
    };
    if fd > i32::MAX as u64 {
        return Err(inval("socket fd above S32_MAX"));
    }
    Ok(fd)
}

/// Sockets are stored as `cookie + 1` so that 0 stays "empty" whatever
/// number the caller stores (socket fd 0 is a valid fd).
fn sock_encode(cookie: u64) -> Result<u64> {
    cookie
        .checked_add(1)
        .ok_or_else(|| inval("socket cookie u64::MAX is not storable"))
}

/// `BPF_NOEXIST`/`BPF_EXIST` against whether the slot is occupied.
fn check_exist(occupied: bool, flags: u64) -> Result<()> {
    if occupied && flags == BPF_NOEXIST {
        return Err(MapError::Exists);
    }
    if !occupied && flags == BPF_EXIST {
        return Err(MapError::NotFound);
    }
    Ok(())
}

impl TargetArray {
    pub(crate) fn new(spec: &MapSpec, ncpus: u32, region: Region) -> Self {
        let kind = match spec.map_type {
            MapType::Devmap => Kind::Dev,
            MapType::Cpumap => Kind::Cpu,
            MapType::Xskmap => Kind::Xsk,
            _ => Kind::Sock,
        };
        TargetArray {
            region,
            max: spec.max_entries,
            kind,
            value_size: spec.value_size as usize,
            ncpus,
        }
    }

    fn slot(&self, idx: u32) -> &AtomicU64 {
        self.region.u64_at(HEADER_SIZE + idx as usize * 8)
    }

    fn load(&self, idx: u32) -> u64 {
        if idx >= self.max {
            return 0;
        }
        self.slot(idx).load(Ordering::Acquire)
    }

    fn range_for_update(&self, idx: u32, flags: u64) -> Result<()> {
        if flags > BPF_EXIST {
            return Err(inval("unknown update flag"));
        }
        if idx >= self.max {
            return Err(MapError::TooBig {
                reason: "index beyond max_entries",
            });
        }
        Ok(())
    }

    /// Store a socket cookie under `idx` with the kernel's
    /// `sock_map_update_common` checks.
    pub(crate) fn store_sock(&self, idx: u32, cookie: u64, flags: u64) -> Result<()> {
        self.range_for_update(idx, flags)?;
        let new = sock_encode(cookie)?;
        let slot = self.slot(idx);
        let mut cur = slot.load(Ordering::Acquire);
        loop {
            check_exist(cur != 0, flags)?;
            match slot.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(c) => cur = c,
            }
        }
    }
}

impl MapOps for TargetArray {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        let idx = index_of(key);
        match self.kind {
            // `xsk_map_lookup_elem_sys_only`: the socket cannot be named.
            Kind::Xsk => Err(MapError::OpNotSupported {
                reason: "xskmap elements cannot be read from user space",
            }),
            Kind::Sock => {
                if self.value_size != 8 {
                    return Err(MapError::NoSpace {
                        reason: "a socket cookie needs value_size 8",
                    });
                }
                let v = self.load(idx);
                if v == 0 {
                    return Err(MapError::NotFound);
                }
                out.copy_from_slice(&(v - 1).to_ne_bytes());
                Ok(())
            }
            Kind::Dev | Kind::Cpu => {
                let v = self.load(idx);
                if v == 0 {
                    return Err(MapError::NotFound);
                }
                unpack_into(v, out);
                Ok(())
            }
        }
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        let idx = index_of(key);
        match self.kind {
            Kind::Dev => {
                self.range_for_update(idx, flags)?;
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                let (ifindex, prog) = value_words(value);
                if ifindex == 0 && prog > 0 {
                    return Err(inval("a devmap program needs an ifindex"));
                }
                // ifindex 0 empties the slot, as the kernel stores NULL.
                let v = if ifindex == 0 { 0 } else { pack(ifindex, prog) };
                self.slot(idx).store(v, Ordering::Release);
                Ok(())
            }
            Kind::Cpu => {
                self.range_for_update(idx, flags)?;
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                let (qsize, prog) = value_words(value);
                if qsize > CPUMAP_MAX_QSIZE {
                    return Err(MapError::Overflow {
                        reason: "cpumap qsize above 16384",
                    });
                }
                if idx >= self.ncpus {
                    return Err(MapError::NoDevice {
                        reason: "cpumap key names no worker",
                    });
                }
                // qsize 0 is a delete, as in the kernel.
                let v = if qsize == 0 { 0 } else { pack(qsize, prog) };
                self.slot(idx).store(v, Ordering::Release);
                Ok(())
            }
            Kind::Xsk => {
                self.range_for_update(idx, flags)?;
                let fd = u32::from_ne_bytes(value.try_into().expect("value_size 4"));
                let new = XSK_PRESENT | u64::from(fd);
                let slot = self.slot(idx);
                let mut cur = slot.load(Ordering::Acquire);
                loop {
                    // The same socket again is a success whatever the flags.
                    if cur == new {
                        return Ok(());
                    }
                    check_exist(cur != 0, flags)?;
                    match slot.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => return Ok(()),
                        Err(c) => cur = c,
                    }
                }
            }
            Kind::Sock => self.store_sock(idx, sock_fd(value)?, flags),
        }
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        let idx = index_of(key);
        if idx >= self.max {
            return Err(inval("index beyond max_entries"));
        }
        let old = self.slot(idx).swap(0, Ordering::AcqRel);
        if old == 0 && self.kind == Kind::Sock {
            // `__sock_map_delete` finds no socket.
            return Err(inval("no socket at this index"));
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

    /// devmap: the `bpf_devmap_val` (read-only for programs, as the kernel
    /// marks the map `BPF_F_RDONLY_PROG`); xskmap: a slot whose first `u32`
    /// is the stored socket number; cpumap: the `{qsize, prog_id}` slot (the
    /// verifier keeps programs from looking cpumaps up, but a
    /// `bpf_redirect_map` helper may test presence this way;
    /// [`crate::Map::redirect_target`] is the API for it). A sockmap lookup
    /// yields a kernel socket in Linux, which has no counterpart here: null.
    fn lookup_ptr(&self, key: &[u8], _cpu: u32) -> *mut u8 {
        let idx = index_of(key);
        if self.kind == Kind::Sock || self.load(idx) == 0 {
            return std::ptr::null_mut();
        }
        self.region.ptr(HEADER_SIZE + idx as usize * 8)
    }

    fn redirect_target(&self, key: &[u8]) -> Option<RedirectTarget> {
        let idx = u32::from_ne_bytes(key.try_into().ok()?);
        let v = self.load(idx);
        if v == 0 {
            return None;
        }
        Some(match self.kind {
            Kind::Dev => RedirectTarget {
                target: u64::from(v as u32),
                prog_id: (v >> 32) as u32,
            },
            Kind::Cpu => RedirectTarget {
                target: u64::from(idx),
                prog_id: (v >> 32) as u32,
            },
            Kind::Xsk => RedirectTarget {
                target: u64::from(v as u32),
                prog_id: 0,
            },
            Kind::Sock => RedirectTarget {
                target: v - 1,
                prog_id: 0,
            },
        })
    }

    fn sock_store(&self, key: &[u8], cookie: u64, flags: u64) -> Result<()> {
        if self.kind != Kind::Sock {
            return Err(MapError::NotSupported);
        }
        self.store_sock(index_of(key), cookie, flags)
    }

    fn check(&self) -> Result<CheckReport> {
        let live = (0..self.max).filter(|&i| self.load(i) != 0).count() as u64;
        Ok(CheckReport {
            live,
            free: u64::from(self.max) - live,
            leaked: 0,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Map, MapOptions};
    use uapi::errno::*;

    fn k(i: u32) -> [u8; 4] {
        i.to_ne_bytes()
    }

    fn val(a: u32, b: i32) -> Vec<u8> {
        let mut v = a.to_ne_bytes().to_vec();
        v.extend_from_slice(&b.to_ne_bytes());
        v
    }

    fn e<T>(r: Result<T>) -> i32 {
        r.map_or_else(|e| e.errno(), |_| 0)
    }

    #[test]
    fn devmap_stores_ifindex_and_program() {
        let m = Map::create(MapSpec::new(MapType::Devmap, 4, 8, 4), &MapOptions::new(2)).unwrap();
        assert_eq!(e(m.lookup(&k(0))), ENOENT);
        m.update(&k(1), &val(7, 42), 0).unwrap();
        assert_eq!(m.lookup(&k(1)).unwrap(), val(7, 42));
        let t = m.redirect_target(&k(1)).unwrap();
        assert_eq!((t.target, t.prog_id), (7, 42));
        // A negative fd is "no program".
        m.update(&k(2), &val(3, -1), 0).unwrap();
        assert_eq!(m.lookup(&k(2)).unwrap(), val(3, 0));
        assert_eq!(e(m.update(&k(2), &val(0, 5), 0)), EINVAL);
        // ifindex 0 empties the slot.
        m.update(&k(1), &val(0, 0), 0).unwrap();
        assert_eq!(e(m.lookup(&k(1))), ENOENT);
        assert!(m.redirect_target(&k(1)).is_none());
        assert_eq!(e(m.update(&k(4), &val(1, 0), 0)), E2BIG);
        assert_eq!(e(m.update(&k(0), &val(1, 0), BPF_NOEXIST)), EEXIST);
        assert_eq!(e(m.delete(&k(4))), EINVAL);
        assert_eq!(e(m.delete(&k(3))), 0);
        let p = m.lookup_ptr(&k(2), 0);
        assert!(!p.is_null());
        // SAFETY: lookup_ptr gave an 8-aligned live slot.
        assert_eq!(unsafe { *(p as *const u32) }, 3);
    }

    #[test]
    fn cpumap_checks_qsize_and_workers() {
        let m = Map::create(MapSpec::new(MapType::Cpumap, 4, 4, 8), &MapOptions::new(2)).unwrap();
        assert_eq!(
            e(m.update(&k(0), &16385u32.to_ne_bytes(), 0)),
            libc::EOVERFLOW
        );
        assert_eq!(e(m.update(&k(2), &64u32.to_ne_bytes(), 0)), ENODEV);
        assert_eq!(e(m.update(&k(8), &64u32.to_ne_bytes(), 0)), E2BIG);
        m.update(&k(1), &64u32.to_ne_bytes(), 0).unwrap();
        assert_eq!(m.lookup(&k(1)).unwrap(), 64u32.to_ne_bytes());
        assert_eq!(m.redirect_target(&k(1)).unwrap().target, 1);
        assert!(!m.lookup_ptr(&k(1), 0).is_null());
        assert!(m.lookup_ptr(&k(0), 0).is_null());
        m.update(&k(1), &0u32.to_ne_bytes(), BPF_EXIST).unwrap();
        assert_eq!(e(m.lookup(&k(1))), ENOENT);
    }

    #[test]
    fn xskmap_and_sockmap_follow_their_kernel_rules() {
        let x = Map::create(MapSpec::new(MapType::Xskmap, 4, 4, 2), &MapOptions::new(1)).unwrap();
        assert_eq!(e(x.update(&k(0), &k(9), BPF_EXIST)), ENOENT);
        x.update(&k(0), &k(0), 0).unwrap();
        // The same socket again, even with BPF_NOEXIST.
        x.update(&k(0), &k(0), BPF_NOEXIST).unwrap();
        assert_eq!(e(x.update(&k(0), &k(9), BPF_NOEXIST)), EEXIST);
        assert_eq!(e(x.lookup(&k(0))), EOPNOTSUPP);
        assert_eq!(x.redirect_target(&k(0)).unwrap().target, 0);
        assert!(!x.lookup_ptr(&k(0), 0).is_null());

        let s = Map::create(MapSpec::new(MapType::Sockmap, 4, 8, 2), &MapOptions::new(1)).unwrap();
        assert_eq!(e(s.update(&k(0), &(1u64 << 31).to_ne_bytes(), 0)), EINVAL);
        s.update(&k(0), &5u64.to_ne_bytes(), 0).unwrap();
        assert_eq!(s.lookup(&k(0)).unwrap(), 5u64.to_ne_bytes());
        s.sock_update(&k(1), 0xdead_beef_0000, BPF_NOEXIST).unwrap();
        assert_eq!(s.redirect_target(&k(1)).unwrap().target, 0xdead_beef_0000);
        assert_eq!(e(s.delete(&k(1))), 0);
        assert_eq!(e(s.delete(&k(1))), EINVAL);
        let s4 = Map::create(MapSpec::new(MapType::Sockmap, 4, 4, 2), &MapOptions::new(1)).unwrap();
        s4.update(&k(0), &3u32.to_ne_bytes(), 0).unwrap();
        assert_eq!(e(s4.lookup(&k(0))), ENOSPC);
    }
}
