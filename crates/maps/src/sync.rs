//! Process-shared synchronisation that lives inside a region.
//!
//! A lock is one `u32` in map memory holding 0 (free) or the holder's PID.
//! Storing the PID, rather than 1, is what makes the lock *robust*: a
//! process killed while holding it leaves its PID behind, and a waiter that
//! has spun long enough asks the kernel whether that process still exists
//! (`kill(pid, 0)`); if not, it takes the lock over. This is safe only
//! because every critical section in this crate is written so that any prefix
//! of its stores leaves the structure consistent (see `docs/MAPS.md`): the
//! new holder may find a leaked element, never a torn chain.
//!
//! The same word format serves `struct bpf_spin_lock` inside values, which
//! programs take through `bpf_spin_lock` and the syscall side through
//! `BPF_F_LOCK`.
//!
//! Waiting for data (ring and perf buffers) uses a futex on a sequence word
//! in the region: futexes on shared mappings work across processes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

static PID: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn reset_pid_after_fork() {
    PID.store(0, Ordering::Relaxed);
}

/// This process's PID, cached (glibc no longer caches `getpid`), and
/// forgotten in a forked child so that it stamps locks with its own PID.
#[inline]
pub(crate) fn my_pid() -> u32 {
    let p = PID.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    ATFORK.call_once(|| {
        // SAFETY: registers a plain extern "C" fn with no captured state.
        unsafe { libc::pthread_atfork(None, None, Some(reset_pid_after_fork)) };
    });
    let p = std::process::id();
    PID.store(p, Ordering::Relaxed);
    p
}

/// Whether process `pid` is gone (so its locks may be taken over).
pub(crate) fn process_is_dead(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks existence and permission; sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Spins before the first liveness check of a lock holder.
const SPINS_BEFORE_CHECK: u32 = 1 << 12;

/// Take the robust spinlock `word`.
pub(crate) fn lock(word: &AtomicU32) {
    let me = my_pid();
    let mut spins: u32 = 0;
    loop {
        let cur = word.load(Ordering::Relaxed);
        if cur == 0 {
            if word
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
            continue;
        }
        spins = spins.wrapping_add(1);
        if spins < 64 {
            std::hint::spin_loop();
            continue;
        }
        std::thread::yield_now();
        if spins.is_multiple_of(SPINS_BEFORE_CHECK)
            && cur != me
            && process_is_dead(cur)
            && word
                .compare_exchange(cur, me, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return;
        }
    }
}

/// Release a lock taken with [`lock`].
#[inline]
pub(crate) fn unlock(word: &AtomicU32) {
    word.store(0, Ordering::Release);
}

/// RAII guard of a region lock: released on drop, also when unwinding.
pub(crate) struct Guard<'a>(&'a AtomicU32);

impl<'a> Guard<'a> {
    pub(crate) fn new(word: &'a AtomicU32) -> Self {
        lock(word);
        Guard(word)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        unlock(self.0);
    }
}

/// Take the `struct bpf_spin_lock` at `ptr` (what the `bpf_spin_lock`
/// helper does; a program's verified pointer into a map value).
///
/// # Safety
/// `ptr` must point to a live, 4-aligned `u32` that is only ever accessed
/// atomically (a spin-lock field of a map value).
pub unsafe fn bpf_spin_lock(ptr: *mut u32) {
    // SAFETY: the caller guarantees a live, aligned, atomically-used u32.
    lock(unsafe { AtomicU32::from_ptr(ptr) });
}

/// Release a `struct bpf_spin_lock` taken with [`bpf_spin_lock`].
///
/// # Safety
/// As for [`bpf_spin_lock`].
pub unsafe fn bpf_spin_unlock(ptr: *mut u32) {
    // SAFETY: the caller guarantees a live, aligned, atomically-used u32.
    unlock(unsafe { AtomicU32::from_ptr(ptr) });
}

/// Wait while `word == expected`, at most `timeout` (`None`: forever).
/// Returns early on a wake-up, a signal or a spurious wake: callers re-check.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: FUTEX_WAIT (shared, not PRIVATE: the word may be in a shared
    // file mapping) on a live aligned u32; the timespec outlives the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
        )
    };
}

/// Wake every waiter on `word`.
pub(crate) fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live aligned u32; no memory is written.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}

/// A wake-up channel in region memory: a sequence word bumped on every
/// notification and a count of sleepers, so that producers only pay for the
/// `FUTEX_WAKE` syscall when someone sleeps.
pub(crate) struct Notify<'a> {
    pub seq: &'a AtomicU32,
    pub sleepers: &'a AtomicU32,
}

impl Notify<'_> {
    /// Wake all waiters (in every process sharing the region).
    pub(crate) fn notify(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
        if self.sleepers.load(Ordering::Acquire) != 0 {
            futex_wake_all(self.seq);
        }
    }

    /// Block until `ready()` or `timeout`; returns `ready()`'s last answer.
    pub(crate) fn wait(&self, timeout: Option<Duration>, mut ready: impl FnMut() -> bool) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let seq = self.seq.load(Ordering::Acquire);
            if ready() {
                return true;
            }
            let left = match deadline {
                None => None,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    Some(d - now)
                }
            };
            self.sleepers.fetch_add(1, Ordering::AcqRel);
            // Re-check after announcing ourselves: a producer that published
            // before seeing `sleepers` bumped `seq`, so the futex returns.
            if !ready() {
                futex_wait(self.seq, seq, left);
            }
            self.sleepers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lock_excludes_threads() {
        let word = Arc::new(AtomicU32::new(0));
        let counter = Arc::new(AtomicU32::new(0));
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let (w, c) = (word.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let _g = Guard::new(&w);
                        // A non-atomic read-modify-write made safe by the lock.
                        let v = c.load(Ordering::Relaxed);
                        c.store(v + 1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::SeqCst), 40_000);
        assert_eq!(word.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn lock_of_a_dead_process_is_taken_over() {
        // PID 0x7fff_fff0 cannot exist (above pid_max): treated as dead.
        let word = AtomicU32::new(0x7fff_fff0);
        lock(&word);
        assert_eq!(word.load(Ordering::SeqCst), my_pid());
        unlock(&word);
    }

    #[test]
    fn wait_times_out_and_wakes() {
        let seq = Arc::new(AtomicU32::new(0));
        let sl = Arc::new(AtomicU32::new(0));
        let n = Notify {
            seq: &seq,
            sleepers: &sl,
        };
        assert!(!n.wait(Some(Duration::from_millis(20)), || false));
        let flag = Arc::new(AtomicU32::new(0));
        let (s2, l2, f2) = (seq.clone(), sl.clone(), flag.clone());
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            f2.store(1, Ordering::SeqCst);
            Notify {
                seq: &s2,
                sleepers: &l2,
            }
            .notify();
        });
        assert!(n.wait(Some(Duration::from_secs(10)), || flag
            .load(Ordering::SeqCst)
            == 1));
        h.join().unwrap();
    }
}
