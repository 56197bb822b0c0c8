//! The one error type of the crate.
//!
//! Every variant maps to exactly one errno ([`MapError::errno`]) because the
//! callers of this crate (the `bpf(2)`-like syscall layer and the helpers
//! that programs call) must hand the kernel's number back. Variants are named
//! by meaning, not by errno, so that tests read as the semantics they check.

use uapi::errno;

/// Why a map operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// Bad argument: sizes, flags, a key or value buffer of the wrong length,
    /// an operation this map type rejects with `EINVAL`.
    #[error("invalid argument: {reason}")]
    #[doc(alias = "EINVAL")]
    Invalid { reason: &'static str },
    /// The key is not in the map (or the queue/stack is empty).
    #[error("no such element")]
    #[doc(alias = "ENOENT")]
    NotFound,
    /// `BPF_NOEXIST` and the key is already there.
    #[error("element already exists")]
    #[doc(alias = "EEXIST")]
    Exists,
    /// A hash map or queue is full, an array index is out of range on
    /// update, or a size exceeds the kernel's limit at creation.
    #[error("too big: {reason}")]
    #[doc(alias = "E2BIG")]
    TooBig { reason: &'static str },
    /// The LPM trie is full; a batch bucket does not fit the buffer; a
    /// perf buffer has no room for the record.
    #[error("no space: {reason}")]
    #[doc(alias = "ENOSPC")]
    NoSpace { reason: &'static str },
    /// A resource is in use (the kernel's `EBUSY`).
    #[error("busy: {reason}")]
    #[doc(alias = "EBUSY")]
    Busy { reason: &'static str },
    /// The map is frozen or opened read-only/write-only for the syscall side.
    #[error("operation not permitted: {reason}")]
    #[doc(alias = "EPERM")]
    NotPermitted { reason: &'static str },
    /// The map type has no such operation and the kernel answers `ENOTSUPP`
    /// (524, the kernel-internal value that leaks to user space).
    #[error("operation not supported by this map type")]
    #[doc(alias = "ENOTSUPP")]
    NotSupported,
    /// The map type has no such operation and the kernel answers `EOPNOTSUPP`.
    #[error("operation not supported: {reason}")]
    #[doc(alias = "EOPNOTSUPP")]
    OpNotSupported { reason: &'static str },
    /// The ring buffer has no room (`bpf_ringbuf_output` answers `-EAGAIN`).
    #[error("try again: {reason}")]
    #[doc(alias = "EAGAIN")]
    Again { reason: &'static str },
    /// A value is past a kernel limit checked at update time (a cpumap
    /// `qsize` above 16384).
    #[error("value too large: {reason}")]
    #[doc(alias = "EOVERFLOW")]
    Overflow { reason: &'static str },
    /// The target does not exist (a cpumap key naming no worker).
    #[error("no such device: {reason}")]
    #[doc(alias = "ENODEV")]
    NoDevice { reason: &'static str },
    /// A helper was asked for data it cannot have (`bpf_get_stackid` skipping
    /// the whole trace).
    #[error("bad address: {reason}")]
    #[doc(alias = "EFAULT")]
    Fault { reason: &'static str },
    /// A key names no open file (local storage keyed by a negative fd).
    #[error("bad file descriptor: {reason}")]
    #[doc(alias = "EBADF")]
    BadFd { reason: &'static str },
    /// The memory for the map could not be had.
    #[error("cannot allocate map memory ({bytes} bytes)")]
    #[doc(alias = "ENOMEM")]
    NoMemory { bytes: u64 },
    /// A file-backed region could not be created, opened or mapped.
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file-backed map's header does not describe a map this version can
    /// open (bad magic, version, or a size that does not match its spec).
    #[error("file {path} is not a compatible oxbpf map: {reason}")]
    BadImage { path: String, reason: &'static str },
}

/// Result of a map operation.
pub type Result<T> = std::result::Result<T, MapError>;

impl MapError {
    /// The positive errno the kernel returns for this failure.
    pub fn errno(&self) -> i32 {
        match self {
            MapError::Invalid { .. } | MapError::BadImage { .. } => errno::EINVAL,
            MapError::NotFound => errno::ENOENT,
            MapError::Exists => errno::EEXIST,
            MapError::TooBig { .. } => errno::E2BIG,
            MapError::NoSpace { .. } => errno::ENOSPC,
            MapError::Busy { .. } => errno::EBUSY,
            MapError::NotPermitted { .. } => errno::EPERM,
            MapError::NotSupported => errno::ENOTSUPP,
            MapError::OpNotSupported { .. } => errno::EOPNOTSUPP,
            MapError::Again { .. } => errno::EAGAIN,
            MapError::NoMemory { .. } => errno::ENOMEM,
            MapError::Overflow { .. } => libc::EOVERFLOW,
            MapError::NoDevice { .. } => errno::ENODEV,
            MapError::Fault { .. } => errno::EFAULT,
            MapError::BadFd { .. } => errno::EBADF,
            MapError::Io { source, .. } => source.raw_os_error().unwrap_or(errno::EIO),
        }
    }

    /// The value a helper returns to a program: `-errno`.
    pub fn helper_ret(&self) -> i64 {
        -i64::from(self.errno())
    }
}

pub(crate) fn inval(reason: &'static str) -> MapError {
    MapError::Invalid { reason }
}
