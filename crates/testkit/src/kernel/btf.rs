//! `BPF_BTF_LOAD`: hands a raw BTF blob to the kernel's BTF checker, which
//! is the reference for what oxbpf's BTF parser must accept.

use super::sys::{self, Cmd};
use super::{owned_fd, KernelError};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// A loaded BTF object; its fd is closed on drop.
#[derive(Debug)]
pub struct Btf {
    fd: OwnedFd,
    log: String,
}

impl Btf {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    /// The BTF checker's log (empty at log level 0).
    pub fn log(&self) -> &str {
        &self.log
    }
}

/// Log buffer for BTF loads; BTF logs are short.
const BTF_LOG_SIZE: usize = 64 * 1024;

pub(super) fn load(data: &[u8], log_level: u32) -> Result<Btf, KernelError> {
    let btf_size = u32::try_from(data.len())
        .map_err(|_| KernelError::invalid(Cmd::BtfLoad, "BTF blob longer than 4 GiB"))?;
    let attempt = |level: u32| {
        let mut log_buf = if level == 0 {
            Vec::new()
        } else {
            vec![0u8; BTF_LOG_SIZE]
        };
        let mut attr = sys::BtfLoadAttr {
            btf: if data.is_empty() {
                0
            } else {
                sys::ptr(data.as_ptr())
            },
            btf_size,
            btf_log_buf: if log_buf.is_empty() {
                0
            } else {
                sys::ptr(log_buf.as_mut_ptr())
            },
            btf_log_size: log_buf.len() as u32,
            btf_log_level: level,
            ..Default::default()
        };
        // SAFETY: `btf` is readable for `btf_size` bytes and `btf_log_buf`
        // writable for `btf_log_size` bytes (or null with size 0); both
        // outlive the call.
        let res = unsafe { sys::sys_bpf(Cmd::BtfLoad, &mut attr) };
        let end = log_buf
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(log_buf.len());
        (res, String::from_utf8_lossy(&log_buf[..end]).into_owned())
    };
    match attempt(log_level) {
        (Ok(fd), log) => Ok(Btf {
            fd: owned_fd(fd),
            log,
        }),
        // Without a log the caller would only see an errno: load again
        // with one so the reason is kept.
        (Err(_), _) if log_level == 0 => {
            let (res, log) = attempt(1);
            match res {
                Ok(fd) => Ok(Btf {
                    fd: owned_fd(fd),
                    log,
                }),
                Err(errno) => Err(KernelError::BtfRejected { errno, log }),
            }
        }
        (Err(errno), log) => Err(KernelError::BtfRejected { errno, log }),
    }
}
