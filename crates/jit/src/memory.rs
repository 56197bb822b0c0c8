//! Code memory that is never writable and executable at once (W^X).
//!
//! The code is written into a fresh private anonymous mapping that is
//! readable and writable ([`WritableCode`]); [`WritableCode::seal`] turns it
//! read-only and executable with `mprotect` and hands back an
//! [`ExecutableCode`], a different type with no way to write. There is no
//! path back: a program is never patched after it was sealed. Both types
//! unmap the memory when dropped.
//!
//! The mapping is asked for close to this crate's own code (a hint, not a
//! demand), so that calls from generated code to helpers compiled into the
//! same binary fit a `call rel32`; when the kernel puts it elsewhere, the
//! code generator falls back to `movabs` + `call reg`.

use std::io;
use std::ptr::NonNull;

/// Page size used to round mappings (x86-64 base pages).
const PAGE: usize = 4096;

fn round_up(n: usize) -> usize {
    n.div_ceil(PAGE).max(1) * PAGE
}

/// A read-write mapping being filled with code. Never executable.
#[derive(Debug)]
pub struct WritableCode {
    ptr: NonNull<u8>,
    /// Mapped bytes (a multiple of the page size).
    mapped: usize,
}

// SAFETY: the mapping is owned exclusively by this value (no aliases are
// handed out beyond borrows of `self`), so moving it to another thread is
// sound.
unsafe impl Send for WritableCode {}

impl WritableCode {
    /// Maps at least `len` bytes, trying to place them near `near` (an
    /// address the code will call).
    pub fn new(len: usize, near: Option<usize>) -> io::Result<WritableCode> {
        let mapped = round_up(len);
        // Half a gigabyte below the anchor: below a PIE binary's text there
        // is normally nothing, and the distance leaves the ±2 GiB window of
        // `call rel32` plenty of room.
        let hint = near
            .map(|a| (a & !(PAGE - 1)).saturating_sub(512 << 20))
            .unwrap_or(0);
        // SAFETY: an anonymous private mapping with no fixed address has no
        // preconditions; the kernel picks a free range (the hint is advice).
        let p = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(WritableCode { ptr, mapped })
    }

    /// Address of the first byte (where the code will run from).
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// Mapped size.
    pub fn capacity(&self) -> usize {
        self.mapped
    }

    /// The whole mapping, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live read-write mapping of `mapped` bytes owned
        // by `self`, and the `&mut self` borrow excludes other access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.mapped) }
    }

    /// Copies `code` to the start, fills the rest with `int3`, and makes the
    /// mapping read-only and executable.
    pub fn seal(mut self, code: &[u8]) -> io::Result<ExecutableCode> {
        if code.len() > self.mapped {
            return Err(io::Error::other("code larger than its mapping"));
        }
        let buf = self.as_mut_slice();
        buf[..code.len()].copy_from_slice(code);
        buf[code.len()..].fill(0xcc);
        // SAFETY: `ptr`/`mapped` describe exactly the mapping created in
        // `new`; after this call nothing writes through it (the value is
        // consumed and `ExecutableCode` offers no mutable access).
        let rc = unsafe {
            libc::mprotect(
                self.ptr.as_ptr().cast(),
                self.mapped,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error()); // `self` drops: unmapped
        }
        let exec = ExecutableCode {
            ptr: self.ptr,
            mapped: self.mapped,
            len: code.len(),
        };
        std::mem::forget(self);
        Ok(exec)
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `new` and is unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped) };
    }
}

/// Sealed code: readable and executable, never writable.
#[derive(Debug)]
pub struct ExecutableCode {
    ptr: NonNull<u8>,
    mapped: usize,
    len: usize,
}

// SAFETY: the mapping is immutable after sealing; sharing read-only,
// executable memory between threads is sound.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above: no interior mutability.
unsafe impl Sync for ExecutableCode {}

impl ExecutableCode {
    /// Address of the first byte.
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// The code bytes (for disassembly and golden listings).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is readable, `len <= mapped`, and nothing
        // writes to it after sealing.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        // SAFETY: created by `WritableCode::new`, unmapped once; the program
        // owning this value cannot be running (runs borrow it).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prot_of(addr: u64) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let mut it = line.split_whitespace();
            let range = it.next().unwrap();
            let perms = it.next().unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let (lo, hi) = (
                u64::from_str_radix(lo, 16).unwrap(),
                u64::from_str_radix(hi, 16).unwrap(),
            );
            if (lo..hi).contains(&addr) {
                return perms[..3].to_string();
            }
        }
        panic!("{addr:#x} is not mapped");
    }

    #[test]
    fn never_writable_and_executable_at_once() {
        let w = WritableCode::new(100, None).unwrap();
        let addr = w.addr();
        assert_eq!(w.capacity(), 4096);
        assert_eq!(prot_of(addr), "rw-");
        let x = w.seal(&[0xc3]).unwrap();
        assert_eq!(prot_of(addr), "r-x");
        assert_eq!(x.bytes(), &[0xc3]);
    }

    #[test]
    fn oversized_code_is_refused() {
        let w = WritableCode::new(10, None).unwrap();
        assert!(w.seal(&[0; 5000]).is_err());
    }
}
