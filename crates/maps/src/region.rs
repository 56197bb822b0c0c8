//! `Region`: the flat memory a map lives in.
//!
//! Everything a map has — header, bucket heads, free lists, LRU state,
//! elements, locks, ring positions — is at a fixed *offset* in one region, so
//! that the region can be a shared mapping of a file and several processes
//! can use one map at once (each maps it at its own address; offsets mean the
//! same to all). Nothing in a region points at host memory.
//!
//! Three shapes exist:
//! - anonymous private memory (`mmap(MAP_PRIVATE|MAP_ANONYMOUS)`), zeroed,
//!   reserved lazily (`MAP_NORESERVE`) so that a large sparse array costs
//!   only the pages it touches, as a kernel array costs what it allocates;
//! - a file mapped `MAP_SHARED`: created under a temporary name, initialised,
//!   then linked to its final name, so that no process ever opens a
//!   half-initialised map;
//! - either of those with a *mirrored tail*: the last `ring` bytes are mapped
//!   a second time right after themselves, as the kernel maps a ring
//!   buffer's data pages twice, so that a record that wraps around the end
//!   is still contiguous for the program writing it.
//!
//! Access goes through raw pointers and atomics only. Value bytes are read
//! and written with plain copies while programs may touch them with atomic
//! instructions at the same time: that is the kernel's own contract for map
//! values (a syscall-side copy is not atomic with respect to programs).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::error::{MapError, Result};

/// Where a region came from, for publishing and clean-up.
#[derive(Debug)]
enum Origin {
    Anonymous,
    /// Created under `tmp`, to be linked to `path` by [`Region::publish`].
    NewFile {
        tmp: PathBuf,
        path: PathBuf,
    },
    File {
        path: PathBuf,
    },
}

/// A flat, page-aligned memory region (see the module documentation).
#[derive(Debug)]
pub struct Region {
    base: NonNull<u8>,
    /// Length of the address range mapped (including a mirror).
    map_len: usize,
    /// Length of the backing memory (excluding a mirror).
    len: usize,
    origin: Origin,
}

// SAFETY: a Region is plain memory owned by the mapping; every access from
// this crate goes through atomics or raw-pointer copies whose races are the
// documented map-value contract, so sharing the handle across threads adds
// no aliasing the map types do not already handle.
unsafe impl Send for Region {}
// SAFETY: as above; `&Region` only hands out raw pointers and atomics.
unsafe impl Sync for Region {}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> MapError {
    MapError::Io {
        op,
        path: path.display().to_string(),
        source,
    }
}

impl Region {
    /// Zeroed anonymous memory of `len` bytes, with `mirror` bytes at its
    /// end mapped twice (0 for none).
    pub fn anonymous(len: usize, mirror: usize) -> Result<Region> {
        check_shape(len, mirror)?;
        if mirror == 0 {
            let base = map_anon(len)?;
            return Ok(Region {
                base,
                map_len: len,
                len,
                origin: Origin::Anonymous,
            });
        }
        // A mirror needs the same pages at two addresses: only a shared
        // mapping of an fd gives that, so back it with an unnamed memfd.
        let name = CString::new("oxbpf-ringbuf").expect("no NUL");
        // SAFETY: memfd_create reads a valid NUL-terminated string.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io_err(
                "memfd_create",
                Path::new("memfd"),
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: fd was just returned by memfd_create and is owned here.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(len as u64)
            .map_err(|e| io_err("ftruncate", Path::new("memfd"), e))?;
        let (base, map_len) = map_fd(file.as_raw_fd(), len, mirror, Path::new("memfd"))?;
        Ok(Region {
            base,
            map_len,
            len,
            origin: Origin::Anonymous,
        })
    }

    /// A new file-backed region for `path`, zeroed. It is created under a
    /// temporary name next to `path` and only appears at `path` on
    /// [`Region::publish`]; dropping it unpublished removes it.
    pub fn create_file(path: &Path, len: usize, mirror: usize) -> Result<Region> {
        check_shape(len, mirror)?;
        if path.exists() {
            return Err(MapError::Exists);
        }
        let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp.{}.{seq}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io_err("create", &tmp, e))?;
        let cleanup = |e| {
            let _ = std::fs::remove_file(&tmp);
            e
        };
        file.set_len(len as u64)
            .map_err(|e| cleanup(io_err("ftruncate", &tmp, e)))?;
        let (base, map_len) = map_fd(file.as_raw_fd(), len, mirror, &tmp).map_err(cleanup)?;
        Ok(Region {
            base,
            map_len,
            len,
            origin: Origin::NewFile {
                tmp,
                path: path.to_owned(),
            },
        })
    }

    /// Map an existing file-backed region; `mirror` must be what its creator
    /// used (the map's spec tells).
    pub fn open_file(path: &Path, mirror: usize) -> Result<Region> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| io_err("open", path, e))?;
        let len = file.metadata().map_err(|e| io_err("stat", path, e))?.len();
        let len = usize::try_from(len).map_err(|_| MapError::NoMemory { bytes: len })?;
        check_shape(len, mirror)?;
        let (base, map_len) = map_fd(file.as_raw_fd(), len, mirror, path)?;
        Ok(Region {
            base,
            map_len,
            len,
            origin: Origin::File {
                path: path.to_owned(),
            },
        })
    }

    /// Read `buf.len()` bytes at `off` of a file without mapping it (to read
    /// a map's header before choosing how to map it).
    pub fn peek_file(path: &Path, off: u64, buf: &mut [u8]) -> Result<()> {
        let file = File::open(path).map_err(|e| io_err("open", path, e))?;
        file.read_exact_at(buf, off)
            .map_err(|e| io_err("read", path, e))
    }

    /// Make a new file-backed region visible under its final name. Fails with
    /// `EEXIST` if another process published a map there first.
    pub fn publish(&mut self) -> Result<()> {
        if let Origin::NewFile { tmp, path } = &self.origin {
            // SAFETY: msync on our own live mapping; failure is reported.
            let rc = unsafe { libc::msync(self.base.as_ptr().cast(), self.len, libc::MS_SYNC) };
            if rc != 0 {
                return Err(io_err("msync", tmp, std::io::Error::last_os_error()));
            }
            let res = std::fs::hard_link(tmp, path);
            let _ = std::fs::remove_file(tmp);
            match res {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(MapError::Exists)
                }
                Err(e) => return Err(io_err("link", path, e)),
            }
            self.origin = Origin::File { path: path.clone() };
        }
        Ok(())
    }

    /// The file this region is mapped from, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Anonymous => None,
            Origin::NewFile { path, .. } | Origin::File { path } => Some(path),
        }
    }

    /// Length of the backing memory in bytes (a mirror is not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty (never, for a created map).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Address of the first byte in this process.
    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Address of byte `off`. Offsets come from a layout computed from the
    /// spec, so an out-of-range offset is a bug of this crate.
    #[inline]
    pub(crate) fn ptr(&self, off: usize) -> *mut u8 {
        debug_assert!(off <= self.map_len, "offset {off} beyond region");
        // SAFETY: off lies within the mapping (layouts are checked against
        // the region length when a map is created or opened).
        unsafe { self.base.as_ptr().add(off) }
    }

    /// Whether `[ptr, ptr+len)` lies in this region's mapping.
    pub(crate) fn contains(&self, ptr: *const u8, len: usize) -> Option<usize> {
        let off = (ptr as usize).checked_sub(self.base.as_ptr() as usize)?;
        (off.checked_add(len)? <= self.map_len).then_some(off)
    }

    /// The `AtomicU32` at `off` (4-aligned).
    #[inline]
    pub(crate) fn u32_at(&self, off: usize) -> &AtomicU32 {
        debug_assert!(off.is_multiple_of(4) && off + 4 <= self.map_len);
        // SAFETY: in bounds and aligned (layouts place these fields), the
        // mapping lives as long as &self, and all accesses to control words
        // are atomic.
        unsafe { AtomicU32::from_ptr(self.ptr(off).cast()) }
    }

    /// The `AtomicU64` at `off` (8-aligned).
    #[inline]
    pub(crate) fn u64_at(&self, off: usize) -> &AtomicU64 {
        debug_assert!(off.is_multiple_of(8) && off + 8 <= self.map_len);
        // SAFETY: as for u32_at, with 8-byte alignment.
        unsafe { AtomicU64::from_ptr(self.ptr(off).cast()) }
    }

    /// Copy `dst.len()` bytes out of the region at `off`.
    #[inline]
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) {
        debug_assert!(off + dst.len() <= self.map_len);
        // SAFETY: source in bounds of the mapping, destination is a distinct
        // Rust buffer; racing writers are the documented value contract.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr(off), dst.as_mut_ptr(), dst.len()) }
    }

    /// Copy `src` into the region at `off`.
    #[inline]
    pub(crate) fn write(&self, off: usize, src: &[u8]) {
        debug_assert!(off + src.len() <= self.map_len);
        // SAFETY: destination in bounds of the mapping; src is a distinct
        // Rust buffer (never region memory aliased as a slice).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr(off), src.len()) }
    }

    /// Set `len` bytes at `off` to zero.
    #[inline]
    pub(crate) fn zero(&self, off: usize, len: usize) {
        debug_assert!(off + len <= self.map_len);
        // SAFETY: in bounds of the mapping.
        unsafe { std::ptr::write_bytes(self.ptr(off), 0, len) }
    }

    /// Compare region bytes at `off` with `other`.
    #[inline]
    pub(crate) fn eq_bytes(&self, off: usize, other: &[u8]) -> bool {
        debug_assert!(off + other.len() <= self.map_len);
        // SAFETY: in bounds; a byte slice view for the comparison only, of
        // key bytes that are written before an element is published.
        let mine = unsafe { std::slice::from_raw_parts(self.ptr(off), other.len()) };
        eq_by_words(mine, other)
    }
}

/// `a == b` for keys: `memcmp`. (A program's key was just built on its
/// stack with narrow stores, which wide loads cannot be forwarded from —
/// but the hash has read every byte of it before any comparison, by bytes
/// (`header::bytes_le8`), and by then the stores have reached the cache.
/// Comparing byte by byte too was measured slower: Katran's full path
/// 91–94 ns against 79 with `memcmp`, others unchanged.)
#[inline]
fn eq_by_words(a: &[u8], b: &[u8]) -> bool {
    a == b
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: base/map_len describe exactly the range mmap gave us.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.map_len) };
        if let Origin::NewFile { tmp, .. } = &self.origin {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn check_shape(len: usize, mirror: usize) -> Result<()> {
    let page = 4096;
    if len == 0
        || mirror > len
        || !mirror.is_multiple_of(page)
        || (mirror != 0 && !len.is_multiple_of(page))
    {
        return Err(crate::error::inval("bad region shape"));
    }
    if len > 1 << 46 {
        return Err(MapError::NoMemory { bytes: len as u64 });
    }
    Ok(())
}

fn map_anon(len: usize) -> Result<NonNull<u8>> {
    // SAFETY: a fresh private anonymous mapping; no existing memory affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(MapError::NoMemory { bytes: len as u64 });
    }
    Ok(NonNull::new(p.cast()).expect("mmap never returns NULL on success"))
}

/// Map `len` bytes of `fd` shared, plus a second view of its last `mirror`
/// bytes right after it. Returns the base and the address-range length.
fn map_fd(fd: RawFd, len: usize, mirror: usize, path: &Path) -> Result<(NonNull<u8>, usize)> {
    let total = len + mirror;
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: reserve a fresh address range (no existing memory affected).
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(MapError::NoMemory {
            bytes: total as u64,
        });
    }
    let fail = |what| {
        let e = std::io::Error::last_os_error();
        // SAFETY: unmapping the range reserved above, nothing else.
        unsafe { libc::munmap(base, total) };
        Err(io_err(what, path, e))
    };
    // SAFETY: MAP_FIXED over the range we reserved above, never over other
    // mappings.
    let p = unsafe { libc::mmap(base, len, rw, libc::MAP_SHARED | libc::MAP_FIXED, fd, 0) };
    if p == libc::MAP_FAILED {
        return fail("mmap");
    }
    if mirror != 0 {
        // SAFETY: as above; the mirror view lies inside the reservation.
        let m = unsafe {
            libc::mmap(
                base.cast::<u8>().add(len).cast(),
                mirror,
                rw,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                (len - mirror) as libc::off_t,
            )
        };
        if m == libc::MAP_FAILED {
            return fail("mmap mirror");
        }
    }
    Ok((
        NonNull::new(base.cast()).expect("mmap never returns NULL"),
        total,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_comparison_is_byte_equality() {
        let a: Vec<u8> = (0..80).collect();
        for n in [0, 1, 3, 4, 5, 8, 13, 16, 64, 65, 80] {
            assert!(super::eq_by_words(&a[..n], &a[..n]));
            for i in 0..n {
                let mut b = a[..n].to_vec();
                b[i] ^= 0x40;
                assert!(!super::eq_by_words(&a[..n], &b), "{n} bytes, byte {i}");
            }
        }
        assert!(!super::eq_by_words(&a[..4], &a[..5]));
    }

    use super::*;

    #[test]
    fn anonymous_is_zeroed_and_writable() {
        let r = Region::anonymous(8192, 0).unwrap();
        let mut b = [1u8; 16];
        r.read(4000, &mut b);
        assert_eq!(b, [0; 16]);
        r.write(4000, &[7; 16]);
        r.read(4000, &mut b);
        assert_eq!(b, [7; 16]);
        assert_eq!(r.base() as usize % 4096, 0);
    }

    #[test]
    fn mirror_aliases_the_tail() {
        let r = Region::anonymous(3 * 4096, 2 * 4096).unwrap();
        r.write(4096, b"hello");
        let mut b = [0u8; 5];
        r.read(3 * 4096, &mut b);
        assert_eq!(&b, b"hello");
        // A write across the end wraps into the start of the mirrored part.
        r.write(3 * 4096 - 2, b"wrap");
        r.read(4096, &mut b[..2]);
        assert_eq!(&b[..2], b"ap");
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Region::anonymous(0, 0).is_err());
        assert!(Region::anonymous(4096, 8192).is_err());
        assert!(Region::anonymous(4096, 100).is_err());
    }

    #[test]
    fn file_regions_share_memory() {
        let dir = std::env::temp_dir().join(format!("oxbpf-region-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r");
        let _ = std::fs::remove_file(&path);
        let mut a = Region::create_file(&path, 4096, 0).unwrap();
        assert!(!path.exists(), "not visible before publish");
        a.publish().unwrap();
        let b = Region::open_file(&path, 0).unwrap();
        a.u64_at(64).store(42, Ordering::SeqCst);
        assert_eq!(b.u64_at(64).load(Ordering::SeqCst), 42);
        assert!(matches!(
            Region::create_file(&path, 4096, 0),
            Err(MapError::Exists)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
