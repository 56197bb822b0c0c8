//! `BPF_PROG_TEST_RUN` with the kernel's semantics, for any engine.
//!
//! [`TestRun::new`] validates a request as `net/bpf/test_run.c` does (the
//! same errno for the same mistake) and builds the packet and context;
//! [`TestRun::run`] registers them (and the maps' memory) in a
//! [`RunEnv`], calls an engine closure — the interpreter's
//! [`crate::Machine::run`] or JIT-compiled code — `repeat` times on the
//! *same* context, as the kernel does (changes accumulate), and returns the
//! kernel's outputs: `retval` (the low 32 bits of `r0`), `data_out`
//! (XDP: metadata and data; skb: from the MAC header, with a zeroed
//! Ethernet header in front for types that start at the network header),
//! `ctx_out` and the average duration.
//!
//! For pcap runs, [`TestRun::reset_packet`] puts the next packet in the
//! same buffers and [`TestRun::run_once`] runs it without building
//! outputs; [`verdict`] tells what the return value means for the type.
//!
//! # Kernel 6.18 facts this follows (checked by the `ctx_*`, `test_run_*`
//! and `pkt_helpers*` tests against the running kernel)
//!
//! * skb: 14 to 3712 bytes; an IPv4 (IPv6) frame needs a whole 20 (40)
//!   byte header; `protocol`/`pkt_type` from `eth_type_trans` on loopback
//!   (ifindex 1); `wire_len` is 0 without a context; the data comes back
//!   from the MAC header, with a zeroed Ethernet header for types that start
//!   at the network header.
//! * XDP: at least 14 bytes; `xdp_md.data_end` chooses the linear size (the
//!   rest, and anything past 3520 bytes, goes to fragments); metadata comes
//!   out of the 256-byte headroom; the frame is 4096 bytes with 320 bytes
//!   of shared-info tailroom.
//! * `repeat` runs on the same context: changes accumulate.
//!
//! # Not modelled
//!
//! Flow dissector, sk_lookup, netfilter, struct_ops and tracing test runs
//! (`ENOTSUPP` here, supported by the kernel); live XDP frames run but
//! reach no device; `bpf_get_hash_recalc` hashes flows with its own
//! function (the kernel's key is random per boot).

mod verdict;

pub use verdict::{verdict, Verdict};

use crate::ctx::{self, netdev, skb, xdp, KernCtx, PacketBuf, PacketKind};
use crate::env::{PacketView, RunEnv};
use crate::error::VmError;
use crate::host::HelperHost;
use crate::memory::{Region, RegionKind};
use uapi::errno::{E2BIG, EINVAL, ENOSPC, ENOTSUPP};

/// `ENXIO` (not in `uapi::errno`).
const ENXIO: i32 = 6;
use uapi::{AttachType, ProgType};

/// `BPF_F_TEST_RUN_ON_CPU`.
pub const BPF_F_TEST_RUN_ON_CPU: u32 = 1;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`.
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 2;
/// `MAX_BPF_FUNC_ARGS * sizeof(u64)`: the largest raw tracepoint context.
pub const RAW_TP_CTX_MAX: usize = 12 * 8;

/// A test-run request: the fields of `union bpf_attr`'s `test` member.
/// A `None` buffer is a null pointer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestRunInput<'a> {
    /// The packet (empty: no `data_in`).
    pub data_in: &'a [u8],
    /// Capacity of `data_out`; `None`: no buffer; `Some(0)`: a buffer with
    /// no size hint (the kernel then copies everything).
    pub data_size_out: Option<u32>,
    /// The context the caller supplies.
    pub ctx_in: Option<&'a [u8]>,
    /// Capacity of `ctx_out`; `None`: no buffer.
    pub ctx_size_out: Option<u32>,
    pub repeat: u32,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
}

/// What a test run returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The low 32 bits of `r0` (the kernel's `retval`).
    pub retval: u32,
    /// The whole `r0`.
    pub r0: u64,
    /// The bytes copied to `data_out` (at most its capacity).
    pub data_out: Vec<u8>,
    /// The full output size the kernel reports in `data_size_out`.
    pub data_size_out: u32,
    /// The bytes copied to `ctx_out` (for syscall programs: the context as
    /// the program left it, written back to `ctx_in`).
    pub ctx_out: Vec<u8>,
    /// Average nanoseconds per run.
    pub duration_ns: u32,
    /// `ENOSPC` when an output was cut to its buffer (the kernel returns
    /// that error with the outputs filled), else 0.
    pub errno: i32,
    /// The redirect target the program set (`bpf_redirect*`: ifindex, map
    /// slot or socket cookie) and its flags.
    pub redirect: Option<(u64, u64)>,
}

/// Why a test run failed.
#[derive(Debug, thiserror::Error)]
pub enum TestRunError {
    /// The kernel refuses the request with `errno`.
    #[error("test run: {} (errno {errno}): {why}", uapi::errno::describe(*errno))]
    Errno { errno: i32, why: &'static str },
    /// The engine stopped with an error (only unverified programs do).
    #[error(transparent)]
    Vm(#[from] VmError),
}

impl TestRunError {
    /// The errno the kernel would return (`EFAULT` for engine errors, which
    /// the kernel never has).
    pub fn errno(&self) -> i32 {
        match self {
            TestRunError::Errno { errno, .. } => *errno,
            TestRunError::Vm(_) => uapi::errno::EFAULT,
        }
    }
}

fn fail<T>(errno: i32, why: &'static str) -> Result<T, TestRunError> {
    Err(TestRunError::Errno { errno, why })
}

#[derive(Debug, Clone)]
enum Mode {
    Xdp {
        md: Option<xdp::XdpMd>,
    },
    Skb {
        user: Option<Vec<u8>>,
    },
    RawTp,
    Syscall,
    /// oxbpf's extension: any context the user supplies, run once.
    Raw,
}

/// A prepared test run. See the module documentation.
#[derive(Debug)]
pub struct TestRun {
    prog_type: ProgType,
    mode: Mode,
    packet: Option<PacketBuf>,
    ctx: KernCtx,
    repeat: u32,
    data_size_out: Option<u32>,
    ctx_size_out: Option<u32>,
    /// Live-frame XDP runs (`BPF_F_TEST_XDP_LIVE_FRAMES`): the original
    /// frame, which every repetition starts from.
    live: Option<Vec<u8>>,
}

/// `sizeof(struct xdp_page_head)`: what live-frame runs keep in front of
/// each frame's headroom.
const XDP_LIVE_PAGE_HEAD: usize = 112;
/// `TEST_XDP_MAX_BATCH`.
const XDP_LIVE_MAX_BATCH: u32 = 256;

/// `bpf_ctx_init`: the caller's context zero-extended to `max`, or `None`
/// when neither `ctx_in` nor `ctx_out` was given.
fn ctx_init(input: &TestRunInput<'_>, max: usize) -> Result<Option<Vec<u8>>, TestRunError> {
    if input.ctx_in.is_none() && input.ctx_size_out.is_none() {
        return Ok(None);
    }
    let mut out = vec![0u8; max];
    if let Some(c) = input.ctx_in {
        if c.len() > 4096 || c.iter().skip(max).any(|&b| b != 0) {
            return fail(
                E2BIG,
                "ctx_in is longer than the context and not zero beyond it",
            );
        }
        let n = c.len().min(max);
        out[..n].copy_from_slice(&c[..n]);
    }
    Ok(Some(out))
}

impl TestRun {
    /// Validates `input` for a program of `prog_type` and builds its packet
    /// and context, as `BPF_PROG_TEST_RUN` does.
    pub fn new(
        prog_type: ProgType,
        attach: Option<AttachType>,
        input: &TestRunInput<'_>,
    ) -> Result<TestRun, TestRunError> {
        TestRun::with_max_ctx_offset(prog_type, attach, input, 0)
    }

    /// [`TestRun::new`] for a program whose context accesses reach
    /// `max_ctx_offset` bytes (the verifier's `max_ctx_offset`), which raw
    /// tracepoint and syscall contexts must cover.
    pub fn with_max_ctx_offset(
        prog_type: ProgType,
        attach: Option<AttachType>,
        input: &TestRunInput<'_>,
        max_ctx_offset: u32,
    ) -> Result<TestRun, TestRunError> {
        use ProgType as P;
        let mut run = TestRun {
            prog_type,
            mode: Mode::Raw,
            packet: None,
            ctx: KernCtx::zeroed(0),
            repeat: input.repeat,
            data_size_out: input.data_size_out,
            ctx_size_out: input.ctx_size_out,
            live: None,
        };
        match prog_type {
            P::Xdp => {
                if matches!(attach, Some(AttachType::XdpDevmap | AttachType::XdpCpumap)) {
                    return fail(EINVAL, "devmap and cpumap XDP programs cannot be test-run");
                }
                if input.flags & !BPF_F_TEST_XDP_LIVE_FRAMES != 0 {
                    return fail(EINVAL, "unknown flags");
                }
                let live = input.flags & BPF_F_TEST_XDP_LIVE_FRAMES != 0;
                if live && input.batch_size > XDP_LIVE_MAX_BATCH {
                    return fail(E2BIG, "batch_size above 256");
                }
                if !live && input.batch_size != 0 {
                    return fail(EINVAL, "batch_size without live frames");
                }
                let md = ctx_init(input, xdp_md_size())?.map(|b| xdp::XdpMd::from_bytes(&b));
                if live {
                    if md.is_some()
                        && (input.data_size_out.is_some() || input.ctx_size_out.is_some())
                    {
                        return fail(EINVAL, "live frames take no data_out or ctx_out");
                    }
                    let metalen = md.map_or(0, |m| m.data as usize);
                    let room = XDP_LIVE_PAGE_HEAD + ctx::XDP_HEADROOM;
                    let max = xdp::XDP_FRAME_SIZE + metalen - room - xdp::SHINFO_SIZE;
                    if md.map_or(input.data_in.len(), |m| m.data_end as usize) > max {
                        return fail(EINVAL, "live frames cannot be multi-buffer");
                    }
                    run.live = Some(input.data_in.to_vec());
                }
                let pkt = xdp::build(input.data_in, md.as_ref(), &mut None, &mut run.ctx)
                    .or_else(|e| fail(e, "the XDP frame or xdp_md is invalid"))?;
                run.packet = Some(pkt);
                run.mode = Mode::Xdp { md };
            }
            P::SocketFilter
            | P::SchedCls
            | P::SchedAct
            | P::CgroupSkb
            | P::LwtIn
            | P::LwtOut
            | P::LwtXmit
            | P::LwtSeg6local => {
                if input.flags != 0 || input.cpu != 0 || input.batch_size != 0 {
                    return fail(EINVAL, "flags, cpu and batch_size must be 0");
                }
                if input.data_in.len() < 14 || input.data_in.len() > skb::SKB_MAX_DATA {
                    return fail(EINVAL, "data_in must hold 14 to 3712 bytes");
                }
                let user = ctx_init(input, uapi::ctx::sk_buff::SIZE as usize)?;
                let kind = skb::kind_of(prog_type);
                let pkt = skb::build(
                    kind,
                    input.data_in,
                    user.as_deref(),
                    &mut None,
                    &mut run.ctx,
                )
                .or_else(|e| fail(e, "the __sk_buff in ctx_in is invalid"))?;
                run.packet = Some(pkt);
                run.mode = Mode::Skb { user };
            }
            P::RawTracepoint | P::RawTracepointWritable => {
                let ctx = input.ctx_in.unwrap_or(&[]);
                if !input.data_in.is_empty()
                    || input.data_size_out.is_some()
                    || input.ctx_size_out.is_some()
                    || input.repeat != 0
                    || input.batch_size != 0
                {
                    return fail(EINVAL, "raw tracepoints take only ctx_in");
                }
                if ctx.len() < max_ctx_offset as usize || ctx.len() > RAW_TP_CTX_MAX {
                    return fail(
                        EINVAL,
                        "ctx_in must cover the program's accesses, at most 96 bytes",
                    );
                }
                if input.flags & BPF_F_TEST_RUN_ON_CPU == 0 && input.cpu != 0 {
                    return fail(EINVAL, "cpu without BPF_F_TEST_RUN_ON_CPU");
                }
                if input.flags & BPF_F_TEST_RUN_ON_CPU != 0 && input.cpu as usize >= cpus() {
                    return fail(ENXIO, "no such cpu");
                }
                run.ctx = KernCtx::from_bytes(ctx);
                run.mode = Mode::RawTp;
            }
            P::Syscall => {
                let ctx = input.ctx_in.unwrap_or(&[]);
                if !input.data_in.is_empty()
                    || input.data_size_out.is_some()
                    || input.ctx_size_out.is_some()
                    || input.repeat != 0
                    || input.flags != 0
                    || input.batch_size != 0
                {
                    return fail(EINVAL, "syscall programs take only ctx_in");
                }
                if ctx.len() < max_ctx_offset as usize || ctx.len() > u16::MAX as usize {
                    return fail(
                        EINVAL,
                        "ctx_in must cover the program's accesses, at most 65535 bytes",
                    );
                }
                run.ctx = KernCtx::from_bytes(ctx);
                run.mode = Mode::Syscall;
            }
            _ => return fail(ENOTSUPP, "the kernel cannot test-run this program type"),
        }
        Ok(run)
    }

    /// oxbpf's extension for program types whose context is plain memory
    /// and which the kernel cannot test-run (kprobe `pt_regs`, tracepoint
    /// records, perf events): `ctx` is the context, run once.
    pub fn raw(prog_type: ProgType, ctx: &[u8]) -> TestRun {
        TestRun {
            prog_type,
            mode: Mode::Raw,
            packet: None,
            ctx: KernCtx::from_bytes(ctx),
            repeat: 1,
            data_size_out: None,
            ctx_size_out: Some(ctx.len() as u32),
            live: None,
        }
    }

    /// The program type the run was built for.
    pub fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// The packet, as the last run left it.
    pub fn packet(&self) -> Option<&PacketBuf> {
        self.packet.as_ref()
    }

    /// The runtime context, as the last run left it.
    pub fn context(&self) -> &KernCtx {
        &self.ctx
    }

    /// Puts `data` in place of the packet, with the context rebuilt as
    /// [`TestRun::new`] built it (the same `ctx_in`), reusing the buffers:
    /// the per-packet step of pcap runs.
    pub fn reset_packet(&mut self, data: &[u8]) -> Result<(), TestRunError> {
        self.rebuild(data, true)
    }

    /// Builds the packet anew from `data`; `whole`: an `xdp_md` from the
    /// caller covers all of `data` (else it is used as given).
    fn rebuild(&mut self, data: &[u8], whole: bool) -> Result<(), TestRunError> {
        // A refused packet leaves the previous buffer in place for the next.
        let mut reuse = self.packet.take();
        let pkt = match &self.mode {
            Mode::Xdp { md } => {
                let mut md = *md;
                if let Some(m) = md.as_mut().filter(|_| whole) {
                    m.data_end = data.len() as u32;
                }
                xdp::build(data, md.as_ref(), &mut reuse, &mut self.ctx)
            }
            Mode::Skb { user } => {
                let kind = skb::kind_of(self.prog_type);
                skb::build(kind, data, user.as_deref(), &mut reuse, &mut self.ctx)
            }
            _ => Err(EINVAL),
        };
        match pkt {
            Ok(p) => {
                self.packet = Some(p);
                Ok(())
            }
            Err(e) => {
                self.packet = reuse;
                fail(e, "the packet is refused")
            }
        }
    }

    /// Runs the program once on the current packet and context (no
    /// output copies): `r0`. Changes stay in the packet and context.
    pub fn run_once<F>(&mut self, host: &mut HelperHost, engine: F) -> Result<u64, VmError>
    where
        F: FnMut(&mut RunEnv<'_>, u64) -> Result<u64, VmError>,
    {
        let mut engine = engine;
        // Untimed: the thread CPU clock is a system call, more than a
        // short program's run, and pcap runs go through here per packet.
        self.execute(host, 1, false, |env, ctx, n| {
            repeat_engine(&mut engine, env, ctx, n)
        })
        .map(|(r0, _)| r0)
    }

    /// Runs the program `repeat` times (at least once) on the same context
    /// and returns the kernel's outputs. See the module documentation.
    pub fn run<F>(
        &mut self,
        host: &mut HelperHost,
        mut engine: F,
    ) -> Result<TestRunOutput, TestRunError>
    where
        F: FnMut(&mut RunEnv<'_>, u64) -> Result<u64, VmError>,
    {
        self.run_repeated(host, |env, ctx, n| repeat_engine(&mut engine, env, ctx, n))
    }

    /// [`TestRun::run`] with an engine that runs the program `n` times
    /// itself (`n` ≥ 1; it stops at the first error and returns the last
    /// `r0`): what lets an engine set a run up once for all repetitions,
    /// as the kernel's `bpf_test_run` loop does, so that the average
    /// duration measures the program rather than per-call setup.
    pub fn run_repeated<F>(
        &mut self,
        host: &mut HelperHost,
        engine: F,
    ) -> Result<TestRunOutput, TestRunError>
    where
        F: FnMut(&mut RunEnv<'_>, u64, u32) -> Result<u64, VmError>,
    {
        host.redirect = None;
        let repeat = match self.mode {
            Mode::Xdp { .. } | Mode::Skb { .. } => self.repeat.max(1),
            _ => 1,
        };
        let (r0, duration_ns) = match self.live.take() {
            Some(frame) => {
                let r = self.run_live(host, &frame, repeat, engine);
                self.live = Some(frame);
                // Live runs report no retval, and the frame as it came.
                let (_, d) = r?;
                self.reset_packet_live()?;
                (0, d)
            }
            None => self.execute(host, repeat, true, engine)?,
        };
        let mut out = TestRunOutput {
            retval: r0 as u32,
            r0,
            data_out: Vec::new(),
            data_size_out: 0,
            ctx_out: Vec::new(),
            duration_ns,
            errno: 0,
            redirect: host.redirect,
        };
        let user_ctx: Option<Vec<u8>> = match (&self.mode, &self.packet) {
            (Mode::Xdp { md }, Some(pkt)) => {
                self.finish_data(&mut out, xdp::data_out(pkt));
                md.map(|mut m| {
                    xdp::finish_md(pkt, &mut m);
                    m.to_bytes().to_vec()
                })
            }
            (Mode::Skb { user }, Some(pkt)) => {
                self.finish_data(&mut out, skb::data_out(pkt));
                user.clone().map(|mut u| {
                    skb::finish_user(&self.ctx, &mut u);
                    u
                })
            }
            (Mode::Syscall, _) => {
                out.ctx_out = self.ctx.bytes().to_vec();
                None
            }
            (Mode::Raw, _) => {
                out.ctx_out = self.ctx.bytes().to_vec();
                None
            }
            _ => None,
        };
        // The kernel copies the context back only when the data fitted.
        if let (Some(u), Some(cap), 0) = (user_ctx, self.ctx_size_out, out.errno) {
            let n = u.len().min(cap as usize);
            if n < u.len() {
                out.errno = ENOSPC;
            }
            out.ctx_out = u[..n].to_vec();
        }
        Ok(out)
    }

    /// Live frames: every repetition runs on a fresh copy of `frame` (the
    /// kernel recycles pages and resets their pointers); what the program
    /// does with a frame (pass, transmit, redirect) goes nowhere in oxbpf.
    fn run_live<F>(
        &mut self,
        host: &mut HelperHost,
        frame: &[u8],
        repeat: u32,
        mut engine: F,
    ) -> Result<(u64, u32), TestRunError>
    where
        F: FnMut(&mut RunEnv<'_>, u64, u32) -> Result<u64, VmError>,
    {
        let mut total: u64 = 0;
        let mut r0 = 0;
        for _ in 0..repeat {
            self.rebuild(frame, false)?;
            let (r, d) = self.execute(host, 1, true, &mut engine)?;
            r0 = r;
            total += d as u64;
        }
        Ok((
            r0,
            (total / repeat.max(1) as u64).min(u32::MAX as u64) as u32,
        ))
    }

    /// Puts the live run's original frame back for the outputs.
    fn reset_packet_live(&mut self) -> Result<(), TestRunError> {
        match self.live.take() {
            Some(f) => {
                let r = self.rebuild(&f, false);
                self.live = Some(f);
                r
            }
            None => Ok(()),
        }
    }

    /// `bpf_test_finish`: clamps `data` to the caller's buffer.
    fn finish_data(&self, out: &mut TestRunOutput, data: Vec<u8>) {
        out.data_size_out = data.len() as u32;
        let Some(cap) = self.data_size_out else {
            return;
        };
        let mut data = data;
        if cap != 0 && data.len() > cap as usize {
            data.truncate(cap as usize);
            out.errno = ENOSPC;
        }
        out.data_out = data;
    }

    /// Registers the context, the packet and the maps, and has `engine`
    /// run the program `repeat` times: (last `r0`, average nanoseconds, or
    /// 0 when not `timed`).
    fn execute<F>(
        &mut self,
        host: &mut HelperHost,
        repeat: u32,
        timed: bool,
        mut engine: F,
    ) -> Result<(u64, u32), VmError>
    where
        F: FnMut(&mut RunEnv<'_>, u64, u32) -> Result<u64, VmError>,
    {
        host.packet = self.packet.take();
        let mut view = None;
        let mut packet_region = None;
        if let Some(p) = host.packet.as_ref() {
            packet_region = Some(Region {
                start: p.base_addr(),
                len: p.buffer().len() as u64,
                writable: true,
                kind: RegionKind::Packet,
            });
            view = packet_view(p);
        }
        let result = {
            let mut env = RunEnv::new();
            let ctx_addr = if self.ctx.is_empty() {
                0
            } else {
                env.add_region(self.ctx.bytes_mut(), RegionKind::Context)
            };
            if let Some(r) = packet_region {
                // SAFETY: the region is the packet buffer, a boxed slice the
                // host keeps in `host.packet` for the whole run (helpers move
                // the data inside it, never reallocate it); its address was
                // exposed by `base_addr`.
                unsafe { env.add_raw_region(r) };
            }
            if let Some(v) = view {
                env.set_packet(v);
            }
            host.add_map_regions(&mut env);
            env.set_host(host);
            let start = timed.then(RunClock::now);
            let r0 = engine(&mut env, ctx_addr, repeat.max(1));
            let ns = start.map_or(0, |s| s.elapsed_ns() / u64::from(repeat.max(1)));
            r0.map(|r| (r, ns.min(u64::from(u32::MAX)) as u32))
        };
        self.packet = host.packet.take();
        result
    }
}

/// The clock of a test run's duration: this thread's CPU time, so that,
/// as in the kernel, time the runner spends descheduled does not count
/// (`bpf_test_timer_continue` stops its clock around `cond_resched()`,
/// and XDP runs with preemption disabled). A busy machine would otherwise
/// inflate the average by the share of the CPU other processes take.
/// Falls back to the monotonic clock where there is no thread CPU clock.
enum RunClock {
    Thread(u64),
    Wall(std::time::Instant),
}

impl RunClock {
    fn thread_ns() -> Option<u64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }

    fn now() -> RunClock {
        match Self::thread_ns() {
            Some(t) => RunClock::Thread(t),
            None => RunClock::Wall(std::time::Instant::now()),
        }
    }

    fn elapsed_ns(&self) -> u64 {
        match self {
            RunClock::Thread(t0) => Self::thread_ns().map_or(0, |t| t.saturating_sub(*t0)),
            RunClock::Wall(t0) => t0.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64,
        }
    }
}

/// Runs a one-run engine `n` times (at least once), stopping at the first
/// error: the batched engine of [`TestRun::run`] and [`TestRun::run_once`].
#[inline(always)]
fn repeat_engine<F>(engine: &mut F, env: &mut RunEnv<'_>, ctx: u64, n: u32) -> Result<u64, VmError>
where
    F: FnMut(&mut RunEnv<'_>, u64) -> Result<u64, VmError>,
{
    let mut r0 = engine(env, ctx)?;
    for _ in 1..n {
        r0 = engine(env, ctx)?;
    }
    Ok(r0)
}

/// Where the legacy `BPF_ABS`/`BPF_IND` loads of an skb read: from `data`,
/// with `SKF_NET_OFF` counting from the network header and `SKF_LL_OFF`
/// from the MAC header (before `data` for socket filters).
pub fn packet_view(p: &PacketBuf) -> Option<PacketView> {
    let PacketKind::Skb { .. } = p.kind() else {
        return None;
    };
    let (_, head, end) = p.bounds();
    Some(PacketView {
        start: p.base_addr() + head as u64,
        len: (end - head) as u64,
        network_offset: p.skb.net.saturating_sub(head) as u32,
        mac_len: head.saturating_sub(p.skb.mac) as u32,
    })
}

fn xdp_md_size() -> usize {
    uapi::ctx::xdp_md::SIZE as usize
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The device test runs use when the caller names none.
pub const DEFAULT_IFINDEX: u32 = netdev::LOOPBACK;
