//! Programs: `BPF_PROG_LOAD`, `BPF_PROG_TEST_RUN`, program info and dumps.

use super::sys::{self, Cmd};
use super::{get_info, owned_fd, pin_fd, KernelError, VerifierLog};
use isa::RawInsn;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use uapi::{AttachType, ProgType};

/// The verifier log level (`log_level` of `BPF_PROG_LOAD`), a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogLevel(pub u32);

impl LogLevel {
    /// No log: fastest, but a rejection comes back with only its errno.
    pub const NONE: LogLevel = LogLevel(0);
    /// `BPF_LOG_LEVEL1`: the instruction trace of the path that failed
    /// (the kernel discards the trace of every path that verified).
    pub const VERBOSE: LogLevel = LogLevel(1);
    /// `BPF_LOG_LEVEL2`: every instruction of every path, with states,
    /// kept even when verification succeeds.
    pub const STATES: LogLevel = LogLevel(2);
    /// `BPF_LOG_STATS`: the error messages and the closing statistics only
    /// (`verification time`, `stack depth`, `processed N insns`) — cheap.
    pub const STATS: LogLevel = LogLevel(4);
    /// `BPF_LOG_FIXED`: keep the beginning of an overlong log instead of its end.
    pub const FIXED: LogLevel = LogLevel(8);
}

impl std::ops::BitOr for LogLevel {
    type Output = LogLevel;
    fn bitor(self, rhs: LogLevel) -> LogLevel {
        LogLevel(self.0 | rhs.0)
    }
}

/// Optional BTF for a program load: `prog_btf_fd`, `func_info`, `line_info`
/// as the raw records of `.BTF.ext`.
#[derive(Debug, Clone, Copy)]
pub struct ProgBtf<'a> {
    pub btf_fd: BorrowedFd<'a>,
    /// `struct bpf_func_info` records, `func_info_rec_size` bytes each.
    pub func_info: &'a [u8],
    pub func_info_rec_size: u32,
    /// `struct bpf_line_info` records, `line_info_rec_size` bytes each.
    pub line_info: &'a [u8],
    pub line_info_rec_size: u32,
}

/// A `BPF_PROG_LOAD` request. Made with [`ProgLoad::new`] and refined with
/// the builder methods; defaults: GPL license, [`LogLevel::STATS`], a
/// 256 KiB log buffer (grown once to the size the kernel asks for when it
/// did not fit), no name, no BTF, no `fd_array`.
#[derive(Debug, Clone)]
pub struct ProgLoad<'a> {
    prog_type: ProgType,
    expected_attach_type: Option<AttachType>,
    insns: &'a [RawInsn],
    license: &'a str,
    log_level: LogLevel,
    log_size: u32,
    name: &'a str,
    prog_flags: u32,
    kern_version: u32,
    btf: Option<ProgBtf<'a>>,
    fd_array: &'a [BorrowedFd<'a>],
}

/// Default log buffer size.
const DEFAULT_LOG_SIZE: u32 = 256 * 1024;
/// The kernel's minimum log buffer (`log_size < 128` is `EINVAL`).
const MIN_LOG_SIZE: u32 = 128;
/// The kernel's maximum log buffer (`UINT_MAX >> 2`).
const MAX_LOG_SIZE: u32 = u32::MAX >> 2;

impl<'a> ProgLoad<'a> {
    pub fn new(prog_type: ProgType, insns: &'a [RawInsn]) -> Self {
        ProgLoad {
            prog_type,
            expected_attach_type: None,
            insns,
            license: "GPL",
            log_level: LogLevel::STATS,
            log_size: DEFAULT_LOG_SIZE,
            name: "",
            prog_flags: 0,
            kern_version: 0,
            btf: None,
            fd_array: &[],
        }
    }
    pub fn expected_attach_type(mut self, t: AttachType) -> Self {
        self.expected_attach_type = Some(t);
        self
    }
    pub fn license(mut self, license: &'a str) -> Self {
        self.license = license;
        self
    }
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = level;
        self
    }
    /// Initial log buffer size in bytes (clamped to the kernel's limits).
    pub fn log_size(mut self, bytes: u32) -> Self {
        self.log_size = bytes.clamp(MIN_LOG_SIZE, MAX_LOG_SIZE);
        self
    }
    /// Object name: at most 15 bytes of `[A-Za-z0-9_.]`.
    pub fn name(mut self, name: &'a str) -> Self {
        self.name = name;
        self
    }
    /// `prog_flags` (`BPF_F_STRICT_ALIGNMENT`, `BPF_F_SLEEPABLE`, …).
    pub fn prog_flags(mut self, flags: u32) -> Self {
        self.prog_flags = flags;
        self
    }
    pub fn kern_version(mut self, v: u32) -> Self {
        self.kern_version = v;
        self
    }
    pub fn btf(mut self, btf: ProgBtf<'a>) -> Self {
        self.btf = Some(btf);
        self
    }
    /// The fds that `BPF_PSEUDO_MAP_IDX[_VALUE]` and kfunc module indexes
    /// refer to.
    pub fn fd_array(mut self, fds: &'a [BorrowedFd<'a>]) -> Self {
        self.fd_array = fds;
        self
    }
}

/// A loaded program; its fd is closed on drop.
#[derive(Debug)]
pub struct Prog {
    fd: OwnedFd,
    log: VerifierLog,
    /// Known at load, or read back with `BPF_OBJ_GET_INFO_BY_FD`; test runs
    /// of syscall programs follow different buffer rules.
    prog_type: u32,
}

pub(super) fn load(req: &ProgLoad<'_>) -> Result<Prog, KernelError> {
    let inv = |r: String| KernelError::invalid(Cmd::ProgLoad, r);
    let name = sys::obj_name(req.name).ok_or_else(|| {
        inv(format!(
            "name {:?} longer than 15 bytes or holds NUL",
            req.name
        ))
    })?;
    let license = CString::new(req.license).map_err(|_| inv("license holds a NUL byte".into()))?;
    let insn_bytes = RawInsn::slice_to_bytes(req.insns);
    let insn_cnt =
        u32::try_from(req.insns.len()).map_err(|_| inv("too many instructions".into()))?;
    check_fd_array_indexes(req.insns, req.fd_array.len()).map_err(inv)?;
    let fds: Vec<i32> = req.fd_array.iter().map(|f| f.as_raw_fd()).collect();

    let mut attr = sys::ProgLoadAttr {
        prog_type: req.prog_type.id(),
        insn_cnt,
        insns: sys::ptr(insn_bytes.as_ptr()),
        license: sys::ptr(license.as_ptr()),
        kern_version: req.kern_version,
        prog_flags: req.prog_flags,
        prog_name: name,
        expected_attach_type: req.expected_attach_type.map_or(0, |t| t.id()),
        fd_array: if fds.is_empty() {
            0
        } else {
            sys::ptr(fds.as_ptr())
        },
        ..Default::default()
    };
    if let Some(btf) = &req.btf {
        let (fcnt, lcnt) = (
            record_count(btf.func_info, btf.func_info_rec_size)
                .map_err(|r| inv(format!("func_info: {r}")))?,
            record_count(btf.line_info, btf.line_info_rec_size)
                .map_err(|r| inv(format!("line_info: {r}")))?,
        );
        attr.prog_btf_fd = btf.btf_fd.as_raw_fd() as u32;
        attr.func_info_rec_size = btf.func_info_rec_size;
        attr.func_info = if fcnt == 0 {
            0
        } else {
            sys::ptr(btf.func_info.as_ptr())
        };
        attr.func_info_cnt = fcnt;
        attr.line_info_rec_size = btf.line_info_rec_size;
        attr.line_info = if lcnt == 0 {
            0
        } else {
            sys::ptr(btf.line_info.as_ptr())
        };
        attr.line_info_cnt = lcnt;
    }

    let mut log_size = req.log_size.clamp(MIN_LOG_SIZE, MAX_LOG_SIZE);
    let mut grown = false;
    let mut eagain = 0;
    loop {
        let mut log_buf = if req.log_level.0 == 0 {
            Vec::new()
        } else {
            vec![0u8; log_size as usize]
        };
        attr.log_level = req.log_level.0;
        attr.log_size = log_buf.len() as u32;
        attr.log_buf = if log_buf.is_empty() {
            0
        } else {
            sys::ptr(log_buf.as_mut_ptr())
        };
        attr.log_true_size = 0;
        // SAFETY: `insns` points to `insn_cnt` 8-byte slots in `insn_bytes`;
        // `license` is NUL-terminated; `log_buf` is writable for `log_size`
        // bytes (or null with size 0); `func_info`/`line_info` are readable
        // for `cnt * rec_size` bytes (checked by `record_count`); `fd_array`
        // holds borrowed (open) fds, and every index the program uses is
        // inside it (checked above); `prog_btf_fd` is borrowed. All of these
        // live until after the call.
        let res = unsafe { sys::sys_bpf(Cmd::ProgLoad, &mut attr) };
        let log = VerifierLog::from_buf(&log_buf);
        match res {
            // Linux 6.4+ keeps the *end* of an overlong rotating log and may
            // still succeed; `log_true_size` tells. Load again with room for
            // all of it, once (the first program is closed on drop).
            Ok(fd) if !grown && req.log_level.0 != 0 && attr.log_true_size > attr.log_size => {
                drop(owned_fd(fd));
                grown = true;
                log_size = attr.log_true_size.min(MAX_LOG_SIZE);
            }
            Ok(fd) => {
                return Ok(Prog {
                    fd: owned_fd(fd),
                    log,
                    prog_type: req.prog_type.id(),
                })
            }
            Err(libc::EAGAIN) if eagain < 5 => eagain += 1,
            // The log did not fit: the kernel says how much it needed
            // (Linux 6.4+); otherwise grow geometrically, once.
            Err(libc::ENOSPC) if !grown && req.log_level.0 != 0 => {
                grown = true;
                let want = if attr.log_true_size > log_size {
                    attr.log_true_size
                } else {
                    log_size.saturating_mul(16)
                };
                log_size = want.min(MAX_LOG_SIZE);
            }
            Err(errno) => return Err(KernelError::ProgRejected { errno, log }),
        }
    }
}

/// Records in a `func_info`/`line_info` blob: the length must be a whole
/// number of non-empty records.
fn record_count(blob: &[u8], rec_size: u32) -> Result<u32, String> {
    if blob.is_empty() {
        return Ok(0);
    }
    if rec_size == 0 || !blob.len().is_multiple_of(rec_size as usize) {
        return Err(format!(
            "{} bytes is not a whole number of {rec_size}-byte records",
            blob.len()
        ));
    }
    u32::try_from(blob.len() / rec_size as usize).map_err(|_| "too many records".to_string())
}

/// The kernel reads `fd_array[idx]` for every index an instruction names;
/// make sure each is inside the array we pass, so it never reads past it.
fn check_fd_array_indexes(insns: &[RawInsn], len: usize) -> Result<(), String> {
    use uapi::opcode::{
        BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, CALL, LDDW,
    };
    for (pc, i) in insns.iter().enumerate() {
        let idx = match (i.code, i.src) {
            (LDDW, BPF_PSEUDO_MAP_IDX | BPF_PSEUDO_MAP_IDX_VALUE) => i.imm as i64,
            (CALL, BPF_PSEUDO_KFUNC_CALL) if i.off != 0 => i.off as i64,
            _ => continue,
        };
        if idx < 0 || idx as usize >= len {
            return Err(format!(
                "insn {pc} uses fd_array[{idx}] but fd_array has {len} entries"
            ));
        }
    }
    Ok(())
}

/// A `BPF_PROG_TEST_RUN` request; see [`Prog::test_run`].
#[derive(Debug, Clone, Default)]
pub struct TestRun<'a> {
    pub data_in: &'a [u8],
    /// Capacity of `data_out`; `None`: `data_in.len() + 4096` when there is
    /// data in (room for tail growth), else no buffer.
    pub data_out_capacity: Option<u32>,
    pub ctx_in: &'a [u8],
    /// Capacity of `ctx_out`; `None`: `ctx_in.len()`. Ignored for syscall
    /// programs, whose context is written back in place and returned as
    /// `ctx_out`.
    pub ctx_out_capacity: Option<u32>,
    pub repeat: u32,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
}

impl<'a> TestRun<'a> {
    /// A single run on `data` with no context.
    pub fn with_data(data: &'a [u8]) -> Self {
        TestRun {
            data_in: data,
            ..Default::default()
        }
    }
}

/// What a test run returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The low 32 bits of `r0` at exit (`retval` is a `__u32`).
    pub retval: u32,
    /// Average run time over `repeat` runs, in nanoseconds.
    pub duration_ns: u32,
    pub data_out: Vec<u8>,
    pub ctx_out: Vec<u8>,
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says about a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    /// `None` for a type this build of uapi does not know.
    pub prog_type: Option<ProgType>,
    pub prog_type_id: u32,
    pub id: u32,
    /// `BPF_TAG_SIZE` bytes: a hash of the instructions with map fds zeroed.
    pub tag: [u8; 8],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub name: String,
    pub gpl_compatible: bool,
    pub nr_map_ids: u32,
    pub btf_id: u32,
    pub run_cnt: u64,
    pub run_time_ns: u64,
    pub verified_insns: u32,
}

impl Prog {
    /// Wraps a program fd obtained elsewhere (`BPF_OBJ_GET`); its log is empty.
    pub fn from_fd(fd: OwnedFd) -> Result<Prog, KernelError> {
        let mut p = Prog {
            fd,
            log: VerifierLog::default(),
            prog_type: 0,
        };
        p.prog_type = p.info()?.prog_type_id;
        Ok(p)
    }
    /// The verifier log of the load (with its statistics).
    pub fn log(&self) -> &VerifierLog {
        &self.log
    }
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    /// `BPF_OBJ_PIN` at `path` (on a bpffs mount).
    pub fn pin(&self, path: &Path) -> Result<(), KernelError> {
        pin_fd(self.fd(), path)
    }

    /// `BPF_PROG_TEST_RUN`.
    pub fn test_run(&self, req: &TestRun<'_>) -> Result<TestRunOutput, KernelError> {
        let too_big = |what: &str| {
            KernelError::invalid(Cmd::ProgTestRun, format!("{what} longer than 4 GiB"))
        };
        let data_size_in = u32::try_from(req.data_in.len()).map_err(|_| too_big("data_in"))?;
        let ctx_size_in = u32::try_from(req.ctx_in.len()).map_err(|_| too_big("ctx_in"))?;
        let data_cap = req.data_out_capacity.unwrap_or(if data_size_in == 0 {
            0
        } else {
            data_size_in.saturating_add(4096)
        });
        // Syscall programs take no ctx_out: the kernel writes the context
        // back into ctx_in, which is why ctx_in is always a private copy.
        let syscall = self.prog_type == ProgType::Syscall.id();
        let ctx_cap = if syscall {
            0
        } else {
            req.ctx_out_capacity.unwrap_or(ctx_size_in)
        };
        let data_in = req.data_in.to_vec();
        let mut ctx_in = req.ctx_in.to_vec();
        let mut data_out = vec![0u8; data_cap as usize];
        let mut ctx_out = vec![0u8; ctx_cap as usize];
        // A zero `data_size_out` with a non-null `data_out` means "no limit"
        // to older kernels: never pass a buffer without its size.
        let out_ptr = |v: &mut Vec<u8>| {
            if v.is_empty() {
                0
            } else {
                sys::ptr(v.as_mut_ptr())
            }
        };

        let mut attr = sys::TestRunAttr {
            prog_fd: self.fd.as_raw_fd() as u32,
            data_size_in,
            data_size_out: data_cap,
            data_in: if data_in.is_empty() {
                0
            } else {
                sys::ptr(data_in.as_ptr())
            },
            data_out: out_ptr(&mut data_out),
            repeat: req.repeat,
            ctx_size_in,
            ctx_size_out: ctx_cap,
            ctx_in: out_ptr(&mut ctx_in),
            ctx_out: out_ptr(&mut ctx_out),
            flags: req.flags,
            cpu: req.cpu,
            batch_size: req.batch_size,
            ..Default::default()
        };
        // SAFETY: `data_in` is readable and `ctx_in` readable and writable
        // for their sizes; `data_out`/`ctx_out` are writable for theirs (or
        // null with size 0); all are our own buffers, alive until after the
        // call; `prog_fd` is ours and open.
        unsafe { sys::sys_bpf(Cmd::ProgTestRun, &mut attr) }.map_err(|errno| {
            KernelError::Syscall {
                cmd: Cmd::ProgTestRun,
                errno,
            }
        })?;
        data_out.truncate((attr.data_size_out as usize).min(data_cap as usize));
        if syscall {
            ctx_out = ctx_in;
        } else {
            ctx_out.truncate((attr.ctx_size_out as usize).min(ctx_cap as usize));
        }
        Ok(TestRunOutput {
            retval: attr.retval,
            duration_ns: attr.duration,
            data_out,
            ctx_out,
        })
    }

    fn raw_info(&self) -> Result<sys::ProgInfoRaw, KernelError> {
        let mut raw = sys::ProgInfoRaw::default();
        // SAFETY: `raw` is the program info struct and holds no pointers.
        unsafe { get_info(self.fd(), &mut raw) }?;
        Ok(raw)
    }

    /// `BPF_OBJ_GET_INFO_BY_FD`.
    pub fn info(&self) -> Result<ProgInfo, KernelError> {
        let r = self.raw_info()?;
        Ok(ProgInfo {
            prog_type: ProgType::from_id(r.prog_type),
            prog_type_id: r.prog_type,
            id: r.id,
            tag: r.tag,
            jited_prog_len: r.jited_prog_len,
            xlated_prog_len: r.xlated_prog_len,
            name: sys::name_from(&r.name),
            gpl_compatible: r.flags & 1 != 0,
            nr_map_ids: r.nr_map_ids,
            btf_id: r.btf_id,
            run_cnt: r.run_cnt,
            run_time_ns: r.run_time_ns,
            verified_insns: r.verified_insns,
        })
    }

    /// The instructions after the kernel's rewrites (`xlated_prog_insns`),
    /// as `bpftool prog dump xlated` sees them. Kernel addresses in them
    /// are zeroed unless raw dumps are allowed (root with `kptr_restrict` off).
    pub fn xlated_insns(&self) -> Result<Vec<RawInsn>, KernelError> {
        let len = self.raw_info()?.xlated_prog_len;
        let mut buf = vec![0u8; len as usize];
        let mut raw = sys::ProgInfoRaw {
            xlated_prog_len: len,
            xlated_prog_insns: sys::ptr(buf.as_mut_ptr()),
            ..Default::default()
        };
        // SAFETY: the only pointer in `raw` is `buf`, writable for
        // `xlated_prog_len` bytes and alive across the call.
        unsafe { get_info(self.fd(), &mut raw) }?;
        buf.truncate((raw.xlated_prog_len as usize).min(len as usize));
        buf.truncate(buf.len() / RawInsn::SIZE * RawInsn::SIZE);
        RawInsn::slice_from_bytes(&buf)
            .map_err(|e| KernelError::invalid(Cmd::ObjGetInfoByFd, e.to_string()))
    }

    /// The machine code the JIT produced (`jited_prog_insns`); empty when
    /// the program is interpreted or the dump is not allowed.
    pub fn jited_insns(&self) -> Result<Vec<u8>, KernelError> {
        let len = self.raw_info()?.jited_prog_len;
        let mut buf = vec![0u8; len as usize];
        let mut raw = sys::ProgInfoRaw {
            jited_prog_len: len,
            jited_prog_insns: sys::ptr(buf.as_mut_ptr()),
            ..Default::default()
        };
        // SAFETY: the only pointer in `raw` is `buf`, writable for
        // `jited_prog_len` bytes and alive across the call.
        unsafe { get_info(self.fd(), &mut raw) }?;
        buf.truncate((raw.jited_prog_len as usize).min(len as usize));
        Ok(buf)
    }
}
