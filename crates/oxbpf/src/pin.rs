//! A bpffs of our own: the directory where maps and programs outlive the
//! process that made them, and where other processes find them.
//!
//! # Layout
//!
//! The root is `$OXBPF_FS`, or by default `$XDG_RUNTIME_DIR/oxbpf` (a
//! per-user tmpfs on systemd machines), or `/tmp/oxbpf-<uid>` when there is
//! no runtime directory; it is created on demand, mode 0700. The real
//! bpffs at `/sys/fs/bpf` needs root and only holds kernel objects, so we
//! keep ours apart — but paths a bpftool user types, `/sys/fs/bpf/NAME`,
//! are read as `$OXBPF_FS/NAME` ([`PinFs::resolve`]).
//!
//! ```text
//! $OXBPF_FS/.lock            flock'd exclusively around id allocation,
//!                            object creation, opening by id and sweeping
//! $OXBPF_FS/.ids             the next map, program and BTF ids
//! $OXBPF_FS/.trace_pipe      bpf_trace_printk lines of every process
//! $OXBPF_FS/.objects/map-5   a map: the maps crate's file-backed region
//! $OXBPF_FS/.objects/prog-7  a program: its stored, verified form
//! $OXBPF_FS/.objects/btf-3   raw BTF of maps and programs
//! $OXBPF_FS/.objects/*.attr  mutable attributes (btf_id)
//! $OXBPF_FS/anything         pins: hard links to objects
//! ```
//!
//! Every object lives once in `.objects`, and a pin is a hard link to it,
//! so the kernel's reference counting becomes the file system's: an
//! object's *pins* are its link count minus one, and its *users* are the
//! processes holding a shared `flock` on it (each process that creates or
//! opens an object holds one until its last handle is dropped). An object
//! with neither — unpinned with `rm` or never pinned, and no process using
//! it — is gone: [`PinFs::gc`] removes it, and every listing or lookup
//! sweeps first. A program keeps its maps: a map referenced by a surviving
//! program survives too.
//!
//! Ids come from `.ids` under the lock, so they are unique across
//! processes, and a runtime made with [`Runtime::with_fs`] gives every map
//! and program such an id, creates every map file-backed in `.objects`, and
//! stores every program there.
//!
//! # Trust
//!
//! A pinned program is stored *after* verification — original instructions
//! (for the tag), the rewritten ones that run, type, license, line and
//! function info, the ids of its maps — and opening it runs those
//! instructions without verifying them again, exactly as the kernel trusts
//! the programs behind bpffs inodes. So files in `OXBPF_FS` are trusted like
//! bpffs: whoever can write them can run code in any process that opens
//! them. The directory is created 0700 for that reason; do not point
//! `OXBPF_FS` at a directory others can write.
//!
//! # Crashes
//!
//! Maps use the maps crate's process-shared locking, so concurrent updates
//! from several processes lose nothing. A process killed in the middle of
//! an update leaves the map readable and consistent, possibly with leaked
//! elements or a count one too high; the first process to open the map
//! while nobody else uses it runs [`maps::Map::check`] and, if either,
//! [`maps::Map::repair`].

mod info;
mod load;
mod paths;
mod store;
mod trace;

pub use info::{gpl_compatible, ProgInfo};
pub use trace::{FileTrace, TraceReader};

use crate::error::{Error, Result};
use crate::map::Map;
use crate::program::Program;
use crate::runtime::{Runtime, RuntimeOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The environment variable naming the pin directory.
pub const ENV_VAR: &str = "OXBPF_FS";

/// The directory bpftool users name pins under; read as the pin root.
pub const BPFFS_PREFIX: &str = "/sys/fs/bpf";

/// What an object of the store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjKind {
    Map,
    Prog,
    Btf,
}

impl ObjKind {
    fn prefix(self) -> &'static str {
        match self {
            ObjKind::Map => "map",
            ObjKind::Prog => "prog",
            ObjKind::Btf => "btf",
        }
    }

    fn slot(self) -> usize {
        match self {
            ObjKind::Map => 0,
            ObjKind::Prog => 1,
            ObjKind::Btf => 2,
        }
    }
}

/// What a pin refers to.
#[derive(Debug, Clone)]
pub enum Pinned {
    Map(Map),
    Program(Program),
}

/// What [`PinFs::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub maps: Vec<u32>,
    pub programs: Vec<u32>,
    pub btfs: Vec<u32>,
}

/// A pin directory (see the module docs).
pub struct PinFs {
    root: PathBuf,
    /// This process's shared locks on the objects it uses, by object.
    holds: Mutex<HashMap<(ObjKind, u32), File>>,
}

impl std::fmt::Debug for PinFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinFs").field("root", &self.root).finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pin_err(path: &Path, errno: i32, reason: impl Into<String>) -> Error {
    Error::Pin {
        path: path.to_path_buf(),
        reason: reason.into(),
        errno,
    }
}

/// `flock(2)` on `f`; `Ok(false)` when a non-blocking request would block.
fn flock(f: &File, op: libc::c_int) -> std::io::Result<bool> {
    loop {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(f.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if op & libc::LOCK_NB != 0 => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// The exclusive lock on the root's `.lock`, released on drop (closing the
/// descriptor releases it).
struct RootLock(#[allow(dead_code)] File);

/// The real uid of this process (the owner of `/proc/self`).
pub(crate) fn current_uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// Whether an object file name is `<prefix>-<id>` (no suffix).
fn parse_object_name(name: &str) -> Option<(ObjKind, u32)> {
    let (prefix, id) = name.split_once('-')?;
    let kind = match prefix {
        "map" => ObjKind::Map,
        "prog" => ObjKind::Prog,
        "btf" => ObjKind::Btf,
        _ => return None,
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((kind, id.parse().ok()?))
}

impl PinFs {
    /// The default root: `$XDG_RUNTIME_DIR/oxbpf` when that directory
    /// exists, else `/tmp/oxbpf-<uid>`.
    pub fn default_root() -> PathBuf {
        if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            let d = PathBuf::from(d);
            if d.is_dir() {
                return d.join("oxbpf");
            }
        }
        PathBuf::from(format!("/tmp/oxbpf-{}", current_uid()))
    }

    /// The pin directory `$OXBPF_FS` names, or the default one.
    pub fn from_env() -> Result<PinFs> {
        match std::env::var_os(ENV_VAR).filter(|d| !d.is_empty()) {
            Some(d) => PinFs::open(PathBuf::from(d)),
            None => PinFs::open(Self::default_root()),
        }
    }

    /// Opens (creating it if needed, mode 0700) the pin directory `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<PinFs> {
        let root: PathBuf = root.into();
        let objects = root.join(".objects");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&objects)
            .map_err(io(&objects))?;
        let root = root.canonicalize().map_err(io(&root))?;
        Ok(PinFs {
            root,
            holds: Mutex::new(HashMap::new()),
        })
    }

    /// A runtime whose maps and programs live here and whose
    /// `bpf_trace_printk` lines go to this directory's trace pipe (read by
    /// `oxbpf prog tracelog`).
    pub fn into_runtime(self, mut opts: RuntimeOptions) -> Runtime {
        opts.trace = Arc::new(FileTrace::new(self.trace_path()));
        Runtime::with_fs(opts, self)
    }

    /// The root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file `bpf_trace_printk` lines are appended to.
    pub fn trace_path(&self) -> PathBuf {
        self.root.join(".trace_pipe")
    }

    /// A path as the user gave it, in this file system: `/sys/fs/bpf/X`
    /// becomes `<root>/X`; anything else is taken as is.
    pub fn resolve(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match path.strip_prefix(BPFFS_PREFIX) {
            Ok(rest) if self.root != Path::new(BPFFS_PREFIX) => self.root.join(rest),
            _ => path.to_path_buf(),
        }
    }

    fn objects(&self) -> PathBuf {
        self.root.join(".objects")
    }

    /// Where object `id` of `kind` lives.
    pub fn object_path(&self, kind: ObjKind, id: u32) -> PathBuf {
        self.objects().join(format!("{}-{id}", kind.prefix()))
    }

    fn attr_path(&self, kind: ObjKind, id: u32) -> PathBuf {
        self.objects().join(format!("{}-{id}.attr", kind.prefix()))
    }

    fn lock(&self) -> Result<RootLock> {
        let p = self.root.join(".lock");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&p)
            .map_err(io(&p))?;
        flock(&f, libc::LOCK_EX).map_err(io(&p))?;
        Ok(RootLock(f))
    }

    /// A fresh id of `kind`, unique across processes using this directory.
    pub fn alloc_id(&self, kind: ObjKind) -> Result<u32> {
        let _l = self.lock()?;
        self.alloc_id_locked(kind)
    }

    fn alloc_id_locked(&self, kind: ObjKind) -> Result<u32> {
        let p = self.root.join(".ids");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&p)
            .map_err(io(&p))?;
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(io(&p))?;
        let mut next = [1u32; 3];
        for (slot, word) in next.iter_mut().zip(text.split_whitespace()) {
            *slot = word.parse::<u32>().unwrap_or(1).max(1);
        }
        let id = next[kind.slot()];
        next[kind.slot()] = id
            .checked_add(1)
            .filter(|&n| n < 0x8000_0000)
            .ok_or_else(|| pin_err(&p, libc::ENOSPC, "ids exhausted"))?;
        let line = format!("{} {} {}\n", next[0], next[1], next[2]);
        f.rewind().map_err(io(&p))?;
        f.set_len(0).map_err(io(&p))?;
        f.write_all(line.as_bytes()).map_err(io(&p))?;
        Ok(id)
    }

    /// Takes this process's shared lock on an object (idempotent).
    fn hold(&self, kind: ObjKind, id: u32) -> Result<()> {
        let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        if holds.contains_key(&(kind, id)) {
            return Ok(());
        }
        let p = self.object_path(kind, id);
        let f = File::open(&p).map_err(io(&p))?;
        flock(&f, libc::LOCK_SH).map_err(io(&p))?;
        holds.insert((kind, id), f);
        Ok(())
    }

    /// Drops this process's lock on an object (its last handle here went
    /// away). The object is swept later if nothing else keeps it.
    pub(crate) fn release(&self, kind: ObjKind, id: u32) {
        self.holds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(kind, id));
    }

    /// `BPF_MAP_CREATE` in this directory: the map's region is the file
    /// `.objects/map-<id>`.
    pub(crate) fn create_map(
        &self,
        rt: &Runtime,
        spec: maps::MapSpec,
        btf: Option<Arc<btf::Btf>>,
    ) -> Result<Map> {
        let name = spec.name.clone();
        let _l = self.lock()?;
        let id = self.alloc_id_locked(ObjKind::Map)?;
        let mut opts = maps::MapOptions::new(rt.options().workers);
        opts.backing = maps::Backing::File(self.object_path(ObjKind::Map, id));
        let storage = maps::Map::create(spec, &opts).map_err(|source| Error::Map {
            map: name.clone(),
            source,
        })?;
        self.hold(ObjKind::Map, id)?;
        Ok(rt.adopt_map_with_id(id, name, storage, btf))
    }

    /// The object a pin (or object path) refers to, by inode.
    pub fn identify(&self, path: impl AsRef<Path>) -> Result<(ObjKind, u32)> {
        let path = self.resolve(path);
        let md = std::fs::metadata(&path).map_err(io(&path))?;
        if !md.is_file() {
            return Err(pin_err(&path, libc::EINVAL, "not a pinned object"));
        }
        let objs = self.objects();
        for entry in std::fs::read_dir(&objs).map_err(io(&objs))?.flatten() {
            let name = entry.file_name();
            let Some((kind, id)) = name.to_str().and_then(parse_object_name) else {
                continue;
            };
            if kind == ObjKind::Btf {
                continue;
            }
            if let Ok(m) = entry.metadata() {
                if m.ino() == md.ino() && m.dev() == md.dev() {
                    return Ok((kind, id));
                }
            }
        }
        Err(pin_err(
            &path,
            libc::EINVAL,
            format!("not an object of {}", self.root.display()),
        ))
    }

    fn link(&self, kind: ObjKind, id: u32, path: &Path) -> Result<PathBuf> {
        let target = self.pin_target(path)?;
        let src = self.object_path(kind, id);
        std::fs::hard_link(&src, &target).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => pin_err(&target, libc::EEXIST, "File exists"),
            _ => Error::Io {
                path: target.clone(),
                source: e,
            },
        })?;
        Ok(target)
    }

    fn not_ours(what: &str, id: u32) -> Error {
        Error::Pin {
            path: PathBuf::from(format!("{what} id {id}")),
            reason: "created by a runtime without this pin file system; only maps and \
                     programs of Runtime::with_fs can be pinned"
                .into(),
            errno: libc::EINVAL,
        }
    }

    /// `BPF_OBJ_PIN` of a map: `path` becomes a hard link to the map's file.
    pub fn pin_map(&self, map: &Map, path: impl AsRef<Path>) -> Result<PathBuf> {
        let ours = self.object_path(ObjKind::Map, map.id());
        if map.storage().region().path() != Some(ours.as_path()) {
            return Err(Self::not_ours("map", map.id()));
        }
        self.link(ObjKind::Map, map.id(), path.as_ref())
    }

    /// `BPF_OBJ_PIN` of a program: its stored form (written now if it was
    /// not yet) gets the link `path`.
    pub fn pin_program(&self, prog: &Program, path: impl AsRef<Path>) -> Result<PathBuf> {
        if !self.object_path(ObjKind::Prog, prog.id()).exists() {
            self.store_program(prog)?;
        }
        self.link(ObjKind::Prog, prog.id(), path.as_ref())
    }

    /// `BPF_OBJ_GET`: the map or program pinned at `path`, opened in `rt`.
    pub fn open_pinned(&self, rt: &Runtime, path: impl AsRef<Path>) -> Result<Pinned> {
        let (kind, id) = self.identify(path)?;
        match kind {
            ObjKind::Map => self.map_by_id(rt, id).map(Pinned::Map),
            _ => self.program_by_id(rt, id).map(Pinned::Program),
        }
    }

    /// The map pinned at `path`.
    pub fn open_map(&self, rt: &Runtime, path: impl AsRef<Path>) -> Result<Map> {
        let path = self.resolve(path);
        match self.open_pinned(rt, &path)? {
            Pinned::Map(m) => Ok(m),
            Pinned::Program(_) => Err(pin_err(&path, libc::EINVAL, "incorrect object type: prog")),
        }
    }

    /// The program pinned at `path`, ready to run without verifying again.
    pub fn open_program(&self, rt: &Runtime, path: impl AsRef<Path>) -> Result<Program> {
        let path = self.resolve(path);
        match self.open_pinned(rt, &path)? {
            Pinned::Program(p) => Ok(p),
            Pinned::Map(_) => Err(pin_err(&path, libc::EINVAL, "incorrect object type: map")),
        }
    }

    pub(crate) fn missing(kind: ObjKind, id: u32) -> Error {
        Error::Pin {
            path: PathBuf::from(format!("{} id {id}", kind.prefix())),
            reason: "No such file or directory".into(),
            errno: libc::ENOENT,
        }
    }

    /// `BPF_MAP_GET_FD_BY_ID`: the live map `id`, opened in `rt` (the same
    /// handle if `rt` has it already).
    pub fn map_by_id(&self, rt: &Runtime, id: u32) -> Result<Map> {
        if let Some(m) = rt.map(id) {
            return Ok(m);
        }
        let _l = self.lock()?;
        self.map_by_id_locked(rt, id)
    }

    fn map_by_id_locked(&self, rt: &Runtime, id: u32) -> Result<Map> {
        if let Some(m) = rt.map(id) {
            return Ok(m);
        }
        let p = self.object_path(ObjKind::Map, id);
        if !p.exists() {
            return Err(Self::missing(ObjKind::Map, id));
        }
        let storage = maps::Map::open(&p).map_err(|source| Error::Map {
            map: format!("id {id}"),
            source,
        })?;
        // Per-CPU slots are per worker: a runtime with more workers than
        // the map has slots would run programs past the map's memory.
        let per_worker =
            storage.map_type().is_percpu() || storage.map_type() == uapi::MapType::PerfEventArray;
        if per_worker && storage.ncpus() < rt.options().workers {
            return Err(pin_err(
                &p,
                libc::EINVAL,
                format!(
                    "map has {} per-CPU slots, this runtime {} workers",
                    storage.ncpus(),
                    rt.options().workers
                ),
            ));
        }
        // Nobody else uses it: a crashed writer may have leaked elements
        // or left the element count one too high.
        if let Ok(f) = File::open(&p) {
            if flock(&f, libc::LOCK_EX | libc::LOCK_NB).unwrap_or(false)
                && storage.check().is_ok_and(|r| r.needs_repair())
            {
                let _ = storage.repair();
            }
        }
        let btf = self
            .attr(ObjKind::Map, id)
            .get("btf_id")
            .and_then(|v| v.parse().ok())
            .and_then(|b| self.read_btf(b));
        let name = storage.spec().name.clone();
        self.hold(ObjKind::Map, id)?;
        Ok(rt.adopt_map_with_id(id, name, storage, btf))
    }

    /// The live program `id`, restored in `rt` without verifying again.
    pub fn program_by_id(&self, rt: &Runtime, id: u32) -> Result<Program> {
        if let Some(p) = rt.program(id) {
            return Ok(p);
        }
        let _l = self.lock()?;
        if let Some(p) = rt.program(id) {
            return Ok(p);
        }
        let p = self.object_path(ObjKind::Prog, id);
        let stored = store::StoredProg::read(&p)?;
        let mut maps = Vec::with_capacity(stored.map_ids.len());
        for &m in &stored.map_ids {
            maps.push(self.map_by_id_locked(rt, m)?);
        }
        let btf = self
            .attr(ObjKind::Prog, id)
            .get("btf_id")
            .and_then(|v| v.parse().ok())
            .and_then(|b| self.read_btf(b));
        let prog = stored.restore(rt, maps, btf)?;
        self.hold(ObjKind::Prog, id)?;
        Ok(prog)
    }

    /// Writes a program's stored form (a runtime with this file system
    /// does it when the program is loaded).
    pub(crate) fn store_program(&self, prog: &Program) -> Result<()> {
        let p = self.object_path(ObjKind::Prog, prog.id());
        if p.exists() {
            return Ok(());
        }
        let _l = self.lock()?;
        store::StoredProg::from_program(prog).write(&p)?;
        self.hold(ObjKind::Prog, prog.id())
    }

    /// The attributes of an object (`key value` lines).
    fn attr(&self, kind: ObjKind, id: u32) -> BTreeMap<String, String> {
        std::fs::read_to_string(self.attr_path(kind, id))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn set_attr(&self, kind: ObjKind, id: u32, key: &str, value: &str) -> Result<()> {
        let mut a = self.attr(kind, id);
        a.insert(key.to_string(), value.to_string());
        let text: String = a.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
        let p = self.attr_path(kind, id);
        let tmp = p.with_extension(format!("attr.tmp.{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &p).map_err(io(&p))
    }

    /// The BTF object id of a map or program, if it has BTF here.
    pub fn btf_id(&self, kind: ObjKind, id: u32) -> Option<u32> {
        self.attr(kind, id).get("btf_id")?.parse().ok()
    }

    fn read_btf(&self, id: u32) -> Option<Arc<btf::Btf>> {
        let raw = std::fs::read(self.object_path(ObjKind::Btf, id)).ok()?;
        btf::Btf::parse(&raw).ok().map(Arc::new)
    }

    /// Records `raw` (a `.BTF` blob) as a BTF object and gives it to the
    /// maps and programs that came with it, so that other processes can
    /// pretty-print their values and sources. Returns the BTF id.
    pub fn record_btf(&self, raw: &[u8], maps: &[Map], progs: &[Program]) -> Result<u32> {
        let _l = self.lock()?;
        let id = self.alloc_id_locked(ObjKind::Btf)?;
        let p = self.object_path(ObjKind::Btf, id);
        std::fs::write(&p, raw).map_err(io(&p))?;
        for m in maps {
            self.set_attr(ObjKind::Map, m.id(), "btf_id", &id.to_string())?;
        }
        for pr in progs {
            self.set_attr(ObjKind::Prog, pr.id(), "btf_id", &id.to_string())?;
        }
        Ok(id)
    }

    /// Ids of the live objects of `kind` (after a sweep), ascending.
    pub fn ids(&self, kind: ObjKind) -> Result<Vec<u32>> {
        self.gc()?;
        let objs = self.objects();
        let mut ids: Vec<u32> = std::fs::read_dir(&objs)
            .map_err(io(&objs))?
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(parse_object_name))
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id)
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Removes every object nobody keeps: no pin, no process holding it,
    /// (for maps) no surviving program using it, (for BTF) no surviving
    /// map or program naming it; and files a crashed creator left.
    pub fn gc(&self) -> Result<GcReport> {
        let _l = self.lock()?;
        let objs = self.objects();
        let mut found: BTreeSet<(ObjKind, u32)> = BTreeSet::new();
        for e in std::fs::read_dir(&objs).map_err(io(&objs))?.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(o) = parse_object_name(name) {
                found.insert(o);
            } else if let Some((_, rest)) = name.split_once(".tmp.") {
                // `<obj>.tmp.<pid>.<seq>` of a creator that died.
                let pid = rest.split('.').next().unwrap_or("");
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let unused = |kind: ObjKind, id: u32| -> bool {
            let p = self.object_path(kind, id);
            let Ok(md) = std::fs::metadata(&p) else {
                return false;
            };
            if md.nlink() > 1 {
                return false;
            }
            match File::open(&p) {
                Ok(f) => flock(&f, libc::LOCK_EX | libc::LOCK_NB).unwrap_or(false),
                Err(_) => false,
            }
        };
        let mut report = GcReport::default();
        let mut kept_maps = BTreeSet::new();
        let mut kept_btf = BTreeSet::new();
        for &(kind, id) in found.iter().filter(|(k, _)| *k == ObjKind::Prog) {
            if unused(kind, id) {
                self.remove(kind, id);
                report.programs.push(id);
            } else {
                if let Ok(s) = store::StoredProg::read(&self.object_path(kind, id)) {
                    kept_maps.extend(s.map_ids);
                }
                kept_btf.extend(self.btf_id(kind, id));
            }
        }
        for &(kind, id) in found.iter().filter(|(k, _)| *k == ObjKind::Map) {
            if !kept_maps.contains(&id) && unused(kind, id) {
                self.remove(kind, id);
                report.maps.push(id);
            } else {
                kept_btf.extend(self.btf_id(kind, id));
            }
        }
        for &(kind, id) in found.iter().filter(|(k, _)| *k == ObjKind::Btf) {
            if !kept_btf.contains(&id) {
                self.remove(kind, id);
                report.btfs.push(id);
            }
        }
        Ok(report)
    }

    fn remove(&self, kind: ObjKind, id: u32) {
        let _ = std::fs::remove_file(self.object_path(kind, id));
        let _ = std::fs::remove_file(self.attr_path(kind, id));
    }

    /// Number of pins of an object (its link count minus the store's).
    pub fn pin_count(&self, kind: ObjKind, id: u32) -> u64 {
        std::fs::metadata(self.object_path(kind, id)).map_or(0, |m| m.nlink().saturating_sub(1))
    }

    /// The uid that created an object (its file's owner).
    pub fn owner(&self, kind: ObjKind, id: u32) -> Option<u32> {
        std::fs::metadata(self.object_path(kind, id))
            .ok()
            .map(|m| m.uid())
    }
}

impl Map {
    fn pin_fs(&self) -> Option<Arc<PinFs>> {
        self.0.registry.upgrade()?.fs.clone()
    }

    /// Pins the map at `path` in its runtime's pin file system.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let fs = self
            .pin_fs()
            .ok_or_else(|| PinFs::not_ours("map", self.id()))?;
        fs.pin_map(self, path)
    }
}

impl Program {
    fn pin_fs(&self) -> Option<Arc<PinFs>> {
        self.0.registry.upgrade()?.fs.clone()
    }

    /// Pins the program at `path` in its runtime's pin file system.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let fs = self
            .pin_fs()
            .ok_or_else(|| PinFs::not_ours("program", self.id()))?;
        fs.pin_program(self, path)
    }
}
