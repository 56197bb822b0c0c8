//! The kernel oracle: a thin, safe wrapper over Linux's `bpf(2)`.
//!
//! oxbpf promises the kernel's semantics, and the cheapest way to know what
//! the kernel does is to ask it. This module loads programs (keeping the
//! verifier's log and its statistics), test-runs them, creates and uses
//! maps, pins objects, reads program and map info back, and loads BTF. It
//! is deliberately thin: no ELF, no relocation, no retries beyond the ones
//! the ABI asks for (`EAGAIN` on load, a log buffer that was too small), so
//! that what a test sees is what the kernel said.
//!
//! Access goes through a [`Kernel`] token, which only [`Kernel::probe`]
//! makes: holding one means `bpf(2)` was permitted in this process (root or
//! `CAP_BPF`, no seccomp filter in the way). Tests call [`require_kernel`]
//! and return early, printing `SKIPPED: …`, where it is not.

mod btf;
mod map;
mod prog;
mod prog_records;
pub(crate) mod sys;
mod verifier_log;

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

pub use btf::Btf;
pub use map::{Map, MapCreate, MapInfo};
pub use prog::{LogLevel, Prog, ProgBtf, ProgInfo, ProgLoad, TestRun, TestRunOutput};
pub use prog_records::{KFuncInfo, KLineInfo, ProgRecords};
pub use sys::Cmd;
pub use verifier_log::VerifierLog;

/// An error from the kernel oracle. The errno is always kept; a rejected
/// program or BTF blob keeps the whole log too.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The command failed with `errno`.
    #[error("{cmd}: {} (errno {errno})", uapi::errno::describe(*errno))]
    Syscall { cmd: Cmd, errno: i32 },
    /// `BPF_PROG_LOAD` failed: the verifier (or an earlier check) refused
    /// the program. `log` is empty when no log was requested.
    #[error("BPF_PROG_LOAD: {} (errno {errno}); verifier log tail:\n{}", uapi::errno::describe(*errno), log.tail(12))]
    ProgRejected { errno: i32, log: VerifierLog },
    /// `BPF_BTF_LOAD` failed; `log` is the BTF verifier's log.
    #[error("BPF_BTF_LOAD: {} (errno {errno}); log:\n{log}", uapi::errno::describe(*errno))]
    BtfRejected { errno: i32, log: String },
    /// The request could not be expressed to the kernel (a name too long,
    /// a key of the wrong size, …); nothing was sent.
    #[error("{cmd}: invalid request: {reason}")]
    InvalidRequest { cmd: Cmd, reason: String },
}

impl KernelError {
    /// The errno the kernel returned, `None` for [`KernelError::InvalidRequest`].
    pub fn errno(&self) -> Option<i32> {
        match self {
            KernelError::Syscall { errno, .. }
            | KernelError::ProgRejected { errno, .. }
            | KernelError::BtfRejected { errno, .. } => Some(*errno),
            KernelError::InvalidRequest { .. } => None,
        }
    }

    pub(crate) fn invalid(cmd: Cmd, reason: impl Into<String>) -> Self {
        KernelError::InvalidRequest {
            cmd,
            reason: reason.into(),
        }
    }
}

/// Why the kernel cannot be used as an oracle here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unavailable {
    /// Human-readable reason, naming the errno.
    pub reason: String,
    /// The errno of the probe load, if it got that far.
    pub errno: Option<i32>,
}

/// Proof that `bpf(2)` works in this process; see [`Kernel::probe`].
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    _private: (),
}

/// Environment variable that turns a skipped kernel test into a failure,
/// for machines where the oracle is expected to work (CI running as root).
pub const REQUIRE_KERNEL_ENV: &str = "OXBPF_REQUIRE_KERNEL";

impl Kernel {
    /// Detects whether `bpf(2)` is permitted by loading `r0 = 0; exit` as a
    /// socket filter (the program type with the fewest requirements). The
    /// answer is computed once per process.
    pub fn probe() -> Result<Kernel, Unavailable> {
        static PROBE: OnceLock<Result<Kernel, Unavailable>> = OnceLock::new();
        PROBE.get_or_init(probe_uncached).clone()
    }

    /// `BPF_PROG_LOAD`.
    pub fn load_prog(&self, req: &ProgLoad<'_>) -> Result<Prog, KernelError> {
        prog::load(req)
    }

    /// `BPF_MAP_CREATE`.
    pub fn create_map(&self, req: &MapCreate<'_>) -> Result<Map, KernelError> {
        map::create(req)
    }

    /// `BPF_BTF_LOAD` of a raw BTF blob (header, types, strings), with the
    /// log at `log_level` (0 for none; the log is always fetched on error).
    pub fn load_btf(&self, data: &[u8], log_level: u32) -> Result<Btf, KernelError> {
        btf::load(data, log_level)
    }

    /// `BPF_OBJ_GET`: opens a pinned object; `file_flags` is 0,
    /// `BPF_F_RDONLY` or `BPF_F_WRONLY`.
    pub fn obj_get(&self, path: &Path, file_flags: u32) -> Result<OwnedFd, KernelError> {
        let cpath = path_cstring(Cmd::ObjGet, path)?;
        let mut attr = sys::ObjAttr {
            pathname: sys::ptr(cpath.as_ptr()),
            file_flags,
            ..Default::default()
        };
        // SAFETY: `pathname` points into `cpath`, a NUL-terminated string
        // that outlives the call; no other pointers or fds are passed.
        let fd = unsafe { sys::sys_bpf(Cmd::ObjGet, &mut attr) }.map_err(|errno| {
            KernelError::Syscall {
                cmd: Cmd::ObjGet,
                errno,
            }
        })?;
        Ok(owned_fd(fd))
    }

    /// Opens a pinned map, learning its sizes from `BPF_OBJ_GET_INFO_BY_FD`.
    pub fn map_from_pin(&self, path: &Path) -> Result<Map, KernelError> {
        Map::from_fd(self.obj_get(path, 0)?)
    }

    /// Opens a pinned program.
    pub fn prog_from_pin(&self, path: &Path) -> Result<Prog, KernelError> {
        Prog::from_fd(self.obj_get(path, 0)?)
    }
}

fn probe_uncached() -> Result<Kernel, Unavailable> {
    // r0 = 0; exit
    let insns = [isa::Insn::mov64_imm(isa::Reg::R0, 0), isa::Insn::Exit];
    let raw = isa::encode_program(&insns);
    let req = ProgLoad::new(uapi::ProgType::SocketFilter, &raw).log_level(LogLevel::NONE);
    match prog::load(&req) {
        Ok(_) => Ok(Kernel { _private: () }),
        Err(e) => {
            let errno = e.errno();
            let why = match errno {
                Some(libc::ENOSYS) => "bpf(2) is not implemented (ENOSYS: kernel without CONFIG_BPF_SYSCALL, or not Linux)".to_string(),
                Some(libc::EPERM) => "BPF_PROG_LOAD returned EPERM (not root / no CAP_BPF, unprivileged bpf disabled, or a seccomp filter)".to_string(),
                _ => format!("probe load of `r0 = 0; exit` failed: {e}"),
            };
            Err(Unavailable { reason: why, errno })
        }
    }
}

/// For tests: the [`Kernel`] token, or `None` after printing
/// `SKIPPED: kernel bpf(2) not permitted: <reason>` to stderr.
///
/// Use as `let Some(kernel) = testkit::require_kernel() else { return };`
/// — a plain function rather than a macro that returns on the caller's
/// behalf, so the early return stays visible in the test. The message is
/// written to the process's stderr directly, bypassing libtest's capture,
/// so `cargo test` always shows it (nextest shows it with
/// `--success-output immediate`). With `OXBPF_REQUIRE_KERNEL=1` the skip
/// becomes a panic instead, for machines where the oracle must work.
pub fn require_kernel() -> Option<Kernel> {
    match Kernel::probe() {
        Ok(k) => Some(k),
        Err(u) => {
            if std::env::var_os(REQUIRE_KERNEL_ENV).is_some_and(|v| v != "0" && !v.is_empty()) {
                panic!("{REQUIRE_KERNEL_ENV} is set but kernel bpf(2) is not permitted: {u}");
            }
            use std::io::Write;
            let msg = format!("SKIPPED: kernel bpf(2) not permitted: {u}\n");
            // Best effort: a failed write to stderr is not worth failing the test.
            let _ = std::io::stderr().write_all(msg.as_bytes());
            None
        }
    }
}

/// Pins any bpf object fd at `path` (on a bpffs mount).
pub(crate) fn pin_fd(fd: BorrowedFd<'_>, path: &Path) -> Result<(), KernelError> {
    let cpath = path_cstring(Cmd::ObjPin, path)?;
    let mut attr = sys::ObjAttr {
        pathname: sys::ptr(cpath.as_ptr()),
        bpf_fd: fd.as_raw_fd() as u32,
        ..Default::default()
    };
    // SAFETY: `pathname` points into `cpath`, NUL-terminated and alive for
    // the call; `bpf_fd` is borrowed, so open for the call.
    unsafe { sys::sys_bpf(Cmd::ObjPin, &mut attr) }.map_err(|errno| KernelError::Syscall {
        cmd: Cmd::ObjPin,
        errno,
    })?;
    Ok(())
}

/// `BPF_OBJ_GET_INFO_BY_FD` into `info`; returns the length the kernel filled.
///
/// # Safety
/// `T` must be the info struct for `fd`'s object type (plain integers), and
/// every buffer pointer placed in it must be null or writable for the
/// length (or element count) placed next to it, for the whole call.
pub(crate) unsafe fn get_info<T>(fd: BorrowedFd<'_>, info: &mut T) -> Result<u32, KernelError> {
    let info_ptr: *mut T = info;
    let mut attr = sys::InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<T>() as u32,
        info: sys::ptr(info_ptr),
    };
    // SAFETY: `info` is an exclusive borrow of `info_len` writable bytes
    // alive for the call; the buffer pointers inside it are valid per this
    // function's contract; `bpf_fd` is borrowed, so open.
    unsafe { sys::sys_bpf(Cmd::ObjGetInfoByFd, &mut attr) }.map_err(|errno| {
        KernelError::Syscall {
            cmd: Cmd::ObjGetInfoByFd,
            errno,
        }
    })?;
    Ok(attr.info_len)
}

fn path_cstring(cmd: Cmd, path: &Path) -> Result<CString, KernelError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        KernelError::invalid(cmd, format!("path {} contains a NUL byte", path.display()))
    })
}

/// Wraps a new fd returned by a successful `bpf(2)` call.
fn owned_fd(fd: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this fd to us (a non-negative value
    // from a command that creates an fd), nobody else owns it, and it is
    // closed exactly once, by the `OwnedFd`.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}
