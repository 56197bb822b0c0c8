//! The host state the runtime's helpers share: what a run knows besides its
//! registers and regions. The runtime puts one [`HelperHost`] in the
//! environment ([`RunEnv::set_host`](crate::RunEnv::set_host)); helpers get
//! it back with [`HelperHost::of`].
//!
//! # Conventions every helper relies on
//!
//! - **A map pointer** (what `lddw rX, map` loads, what `bpf_map_*` helpers
//!   get in `r1`) is the address of a [`maps::Map`] kept alive by an
//!   `Arc` in [`HelperHost::maps`] for the whole run. Unchecked (verified)
//!   runs trust it as the kernel trusts its `struct bpf_map *`; checked runs
//!   look it up in [`HelperHost::map`] first and fault if it is not one.
//! - **A map value pointer** is what [`maps::Map::lookup_ptr`] returned; the
//!   runtime adds every map's region to the run, so checked runs accept it.
//! - **The packet** of `xdp` and skb programs is a [`crate::ctx::PacketBuf`]
//!   with headroom and tailroom: helpers that move its head or tail update
//!   the buffer and then the context's `data`/`data_end`/`data_meta` fields
//!   (`uapi::ctx::kern`), exactly as the kernel's helpers leave the verifier
//!   to invalidate packet pointers.

use crate::env::RunEnv;
use std::sync::Arc;

/// Where `bpf_trace_printk` and `bpf_trace_vprintk` lines go: each call
/// gives one line in the kernel's `trace_pipe` format, without the newline.
pub trait TraceSink: Send + Sync {
    fn line(&self, line: &str);
}

/// A sink that prints lines to standard error (the default of the CLI).
#[derive(Debug, Default)]
pub struct StderrTrace;

impl TraceSink for StderrTrace {
    fn line(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// A sink that keeps lines in memory (tests, embedders).
#[derive(Debug, Default)]
pub struct MemoryTrace {
    lines: std::sync::Mutex<Vec<String>>,
}

impl MemoryTrace {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl TraceSink for MemoryTrace {
    fn line(&self, line: &str) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(line.to_string());
        }
    }
}

/// Resolves the inner map ids that `array_of_maps` and `hash_of_maps` slots
/// hold (the runtime's registry), so that `bpf_map_lookup_elem` on a map of
/// maps can give the program the inner map.
pub trait InnerMaps: Send + Sync {
    /// The map with id `id`, if it exists.
    fn map(&self, id: u32) -> Option<Arc<maps::Map>>;
}

/// Who "current" is for `bpf_get_current_pid_tgid`, `_uid_gid` and
/// `_comm`: the host process by default, or what a test-run sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub pid: u32,
    pub tgid: u32,
    pub uid: u32,
    pub gid: u32,
    /// `TASK_COMM_LEN` (16) bytes, NUL-padded.
    pub comm: [u8; 16],
}

/// What the runtime's helpers share during a run. See the module
/// documentation for the conventions.
pub struct HelperHost {
    /// The maps the program may name (kept alive for the run).
    pub maps: Vec<Arc<maps::Map>>,
    /// Where trace_printk lines go.
    pub trace: Arc<dyn TraceSink>,
    /// The program's name, for the trace_pipe line (`<prog>-pid [cpu] ...`
    /// uses the task name; see the trace helper).
    pub prog_name: String,
    /// `bpf_get_func_ip`: the address reported for the program's function.
    pub func_ip: u64,
    /// The task the program runs for.
    pub current: Current,
    /// The packet of xdp and skb programs.
    pub packet: Option<crate::ctx::PacketBuf>,
    /// Set by `bpf_redirect`/`bpf_redirect_map` and the socket-map
    /// redirects: the target ifindex, map slot or socket cookie (64 bits),
    /// and the flags, reported by test-run.
    pub redirect: Option<(u64, u64)>,
    /// Inner maps of maps of maps; `None`: lookups in a map of maps give
    /// null. An inner map a lookup returns joins [`HelperHost::maps`] for
    /// the rest of the host's life (so it stays alive and checked runs
    /// accept it).
    pub inner_maps: Option<Arc<dyn InnerMaps>>,
    /// The cookie of the run's socket, taken on the first
    /// `bpf_get_socket_cookie` (see `helpers::task`).
    pub socket_cookie: Option<u64>,
    /// Packets `bpf_clone_redirect` sent (they go nowhere here).
    pub clones: u64,
}

impl std::fmt::Debug for HelperHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperHost")
            .field("maps", &self.maps.len())
            .field("prog_name", &self.prog_name)
            .field("current", &self.current)
            .field("packet", &self.packet)
            .field("redirect", &self.redirect)
            .finish_non_exhaustive()
    }
}

impl HelperHost {
    /// A host with the given maps, tracing to standard error, running for
    /// the current process.
    pub fn new(maps: Vec<Arc<maps::Map>>) -> HelperHost {
        HelperHost {
            maps,
            trace: Arc::new(StderrTrace),
            prog_name: String::new(),
            func_ip: 0,
            current: Current::of_thread(),
            packet: None,
            redirect: None,
            socket_cookie: None,
            clones: 0,
            inner_maps: None,
        }
    }

    /// The host of a run, if the runtime set one.
    pub fn of<'e>(env: &'e mut RunEnv<'_>) -> Option<&'e mut HelperHost> {
        env.host::<HelperHost>()
    }

    /// The map at address `addr`, if it is one of the run's maps.
    pub fn map(&self, addr: u64) -> Option<&maps::Map> {
        self.maps
            .iter()
            .map(|m| &**m)
            .find(|m| std::ptr::from_ref::<maps::Map>(m) as u64 == addr)
    }

    /// Adds the memory of every map of the run to `env`, so that checked
    /// runs accept the value pointers map helpers return.
    pub fn add_map_regions(&self, env: &mut RunEnv<'_>) {
        for m in &self.maps {
            let r = m.region();
            // A ring buffer's data pages are mapped a second time right
            // after the region (`max_entries` bytes), so that records that
            // wrap are contiguous: its records may extend into that mirror.
            let mirror = if m.map_type() == uapi::MapType::Ringbuf {
                u64::from(m.spec().max_entries)
            } else {
                0
            };
            let region = crate::memory::Region {
                start: r.base().expose_provenance() as u64,
                len: r.len() as u64 + mirror,
                writable: true,
                kind: crate::memory::RegionKind::MapValue,
            };
            // SAFETY: the map's mapping (with a ring buffer's mirror) stays
            // valid while `self.maps` holds the `Arc`, which outlives the
            // run by the host contract; its address was exposed just above;
            // other workers touch it only through programs and the maps
            // crate's atomics.
            unsafe { env.add_raw_region(region) };
        }
    }

    /// The address programs use for `map` (see the module documentation).
    pub fn map_addr(map: &Arc<maps::Map>) -> u64 {
        Arc::as_ptr(map).expose_provenance() as u64
    }
}

thread_local! {
    /// [`Current::of_process`] for this thread, read once: building a host
    /// per test run would otherwise read three `/proc` files every time.
    static THREAD_CURRENT: Current = Current::of_process();
}

impl Current {
    /// [`Current::of_process`] as first read on this thread (names, ids and
    /// credentials set later are not seen).
    pub fn of_thread() -> Current {
        THREAD_CURRENT.with(Clone::clone)
    }

    /// The calling thread: pid and tgid of the thread and process, real
    /// uid and gid, and the thread's name from `/proc/thread-self/comm`.
    pub fn of_process() -> Current {
        let tgid = std::process::id();
        let pid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name()?.to_str()?.parse().ok())
            .unwrap_or(tgid);
        let (uid, gid) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .map(|s| {
                let field = |name: &str| -> u32 {
                    s.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .and_then(|v| v.split_whitespace().next()?.parse().ok())
                        .unwrap_or(0)
                };
                (field("Uid:"), field("Gid:"))
            })
            .unwrap_or((0, 0));
        let mut comm = [0u8; 16];
        // The thread's name, as the kernel's `current->comm` is.
        if let Ok(name) = std::fs::read_to_string("/proc/thread-self/comm") {
            let name = name.trim_end().as_bytes();
            let n = name.len().min(15);
            comm[..n].copy_from_slice(&name[..n]);
        }
        Current {
            pid,
            tgid,
            uid,
            gid,
            comm,
        }
    }
}
