//! Soundness harness: verify a program, and if the verifier accepts it, run
//! it in the vm's *checked* mode on real inputs. Anything the checked mode
//! catches in an accepted program is a verifier bug:
//!
//! - a memory access outside the regions of the run (context, the exact
//!   packet bytes, the exact value of a looked-up map element, the live
//!   stack) — the regions are deliberately tight: the packet has no
//!   headroom or tailroom, and map values are granted one by one with their
//!   `value_size`, not the whole map's memory;
//! - a misaligned atomic, a bad helper argument, a runaway loop (budget);
//! - a read of something never written: each input runs three times, with
//!   the stack filled beforehand with pattern A, then B, then A again (same
//!   packet and context buffers, same maps reset to the same contents). The
//!   same output for both A runs but a different one for B means the
//!   result depended on stale stack bytes. (Outputs that differ between the
//!   two A runs — a leaked pointer to a hash element that moved — are
//!   nondeterministic and not compared.)
//!
//! Map helpers are minimal test-only ones (lookup, update, delete) on top of
//! `crates/maps`, following the host contract of `vm::host`: the map
//! pointer is the address of the `maps::Map`. Shared by `tests/soundness.rs`
//! and the cargo-fuzz target in `fuzz/`.

#![allow(dead_code)]

use isa::{LoadImm, RawInsn};
use oxbpf_verifier::{verify, MapMeta, Request};
use std::collections::BTreeMap;
use std::sync::Arc;
use testkit::gen::safety::{SafetyMap, Src};
use uapi::helpers::id;
use uapi::{HelperId, ProgType};
use vm::{
    BoxError, HelperFault, HelperHost, HelperRegistry, Machine, PrepareError, PrepareOptions,
    Program, Region, RegionKind, Resolver, RunEnv, VmError,
};

/// Instruction budget of one run: generated loops are short, and an
/// accepted program must terminate far below this.
pub const BUDGET: u64 = 2_000_000;
/// Inputs each accepted program runs on.
pub const INPUTS: usize = 6;

/// What happened to one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The verifier refused it, with this message.
    Rejected(String),
    /// Accepted and ran cleanly on every input.
    Passed { runs: usize },
    /// Accepted, but the vm cannot prepare it (a helper the harness does
    /// not provide): not a verifier question.
    Unrunnable(String),
}

/// A verifier bug: an accepted program that misbehaved.
#[derive(Debug, Clone)]
pub struct Finding {
    /// What the checked run caught.
    pub what: String,
    /// Short kind, for comparing findings while minimising.
    pub kind: &'static str,
    pub input: String,
}

/// The maps of one program in the verifier's terms.
pub fn metas(maps: &[SafetyMap]) -> BTreeMap<i32, MapMeta> {
    maps.iter()
        .enumerate()
        .map(|(i, m)| {
            let meta = MapMeta::new(m.map_type, m.key_size, m.value_size, m.max_entries);
            (i as i32, meta)
        })
        .collect()
}

/// Verifies `raw`; on acceptance runs it on `INPUTS` inputs from `seed`.
pub fn check(
    prog_type: ProgType,
    maps: &[SafetyMap],
    raw: &[RawInsn],
    seed: u64,
) -> Result<Outcome, Finding> {
    let mut req = Request::new(raw, prog_type);
    req.maps = metas(maps);
    let v = match verify(&req) {
        Ok(v) => v,
        Err(r) => return Ok(Outcome::Rejected(r.message)),
    };
    execute(prog_type, maps, v.insns(), seed)
}

/// Runs `insns` (the verifier's output, or anything in the runtime layout)
/// on `INPUTS` inputs from `seed` and reports what the checked mode or the
/// stack-poison comparison caught. `check` calls it for accepted programs;
/// tests call it directly to show that it catches unsafe ones.
pub fn execute(
    prog_type: ProgType,
    maps: &[SafetyMap],
    insns: &[RawInsn],
    seed: u64,
) -> Result<Outcome, Finding> {
    let world = World::new(maps);
    let resolver = MapResolver(world.maps.iter().map(HelperHost::map_addr).collect());
    let helpers = registry();
    let mut opts = PrepareOptions::new(&helpers);
    opts.resolver = Some(&resolver);
    let prog = match Program::from_raw(insns, &opts) {
        Ok(p) => p,
        Err(e @ PrepareError::UnknownHelper { .. }) => {
            return Ok(Outcome::Unrunnable(e.to_string()))
        }
        Err(e) => {
            return Err(Finding {
                what: format!("accepted program does not prepare: {e}"),
                kind: "prepare",
                input: String::new(),
            })
        }
    };
    let poison = [poison_program(0), poison_program(0xa5a5_5a5a_dead_beef)];
    let mut vm = Machine::new();
    vm.set_budget(BUDGET);
    let mut src = Src::seed(seed);
    let mut runs = 0;
    for _ in 0..INPUTS {
        let input = Input::random(&mut src, maps, prog_type);
        // The same buffers for the three runs, so that a program that leaks
        // a pointer into its output gives the same output each time.
        let mut bufs = Buffers::new(&input);
        let mut outs = Vec::new();
        for p in [0, 1, 0] {
            let out = world
                .run(&mut vm, &prog, &poison[p], &input, &mut bufs)
                .map_err(|e| Finding {
                    kind: kind(&e),
                    what: e.to_string(),
                    input: input.describe(),
                })?;
            if leaked_records() > 0 {
                return Err(Finding {
                    what: format!(
                        "{} ring buffer record(s) neither submitted nor discarded",
                        leaked_records()
                    ),
                    kind: "leak",
                    input: input.describe(),
                });
            }
            outs.push(out);
            runs += 1;
        }
        if outs[0] == outs[2] && outs[0] != outs[1] {
            return Err(Finding {
                what: format!(
                    "result depends on uninitialised stack: {} vs {}",
                    outs[0].summary(),
                    outs[1].summary()
                ),
                kind: "uninit",
                input: input.describe(),
            });
        }
    }
    Ok(Outcome::Passed { runs })
}

fn kind(e: &VmError) -> &'static str {
    match e {
        VmError::MemoryAccess { .. } => "memory",
        VmError::MisalignedAtomic { .. } => "misaligned",
        VmError::BudgetExhausted { .. } => "budget",
        VmError::CallDepthExceeded { .. } => "depth",
        VmError::BadCallTarget { .. } => "callx",
        VmError::Helper { .. } => "helper",
        _ => "other",
    }
}

/// Replaces instructions by `goto +0` while the program stays accepted and
/// fails the same way. Jump offsets stay valid, so the listing keeps its
/// shape; returns the smallest failing program found.
pub fn minimise(
    prog_type: ProgType,
    maps: &[SafetyMap],
    raw: &[RawInsn],
    seed: u64,
    kind: &str,
) -> Vec<RawInsn> {
    let nop = RawInsn::new(0x05, 0, 0, 0, 0);
    let mut cur = raw.to_vec();
    let fails = |p: &[RawInsn]| matches!(check(prog_type, maps, p, seed), Err(f) if f.kind == kind);
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..cur.len() {
            if cur[i] == nop || (i > 0 && cur[i - 1].code == 0x18) {
                continue;
            }
            let mut t = cur.clone();
            t[i] = nop;
            if cur[i].code == 0x18 && i + 1 < t.len() {
                t[i + 1] = nop;
            }
            if fails(&t) {
                cur = t;
                changed = true;
            }
        }
    }
    cur
}

/// The listing of a program (LLVM syntax), `goto +0` no-ops left out but
/// counted so that jump offsets still read right.
pub fn listing(raw: &[RawInsn]) -> String {
    let text = isa::disasm::listing(
        raw,
        isa::disasm::DisasmOptions::new(isa::disasm::Dialect::Kernel),
    )
    .unwrap_or_else(|e| format!("(does not disassemble: {e})"));
    text.lines()
        .filter(|l| !l.trim_end().ends_with("goto pc+0"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A full report of a finding: the minimised program, its verifier log.
pub fn report(
    prog_type: ProgType,
    maps: &[SafetyMap],
    raw: &[RawInsn],
    seed: u64,
    f: &Finding,
) -> String {
    let min = minimise(prog_type, maps, raw, seed, f.kind);
    let mut req = Request::new(&min, prog_type);
    req.maps = metas(maps);
    req.log_level = 2;
    let log = match verify(&req) {
        Ok(v) => v.log().to_string(),
        Err(r) => format!("(minimised program rejected?) {}", r.log),
    };
    let tail: Vec<&str> = log.lines().filter(|l| !l.ends_with("goto pc+0")).collect();
    let keep = std::env::var("SOUNDNESS_LOG_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150usize);
    let tail = tail[tail.len().saturating_sub(keep)..].join("\n");
    let min_f = check(prog_type, maps, &min, seed).err();
    format!(
        "VERIFIER BUG: {}\ninput: {}\nprog type {prog_type:?}, maps (fd = index) {maps:?}, seed {seed:#x}\n\
         --- minimised ({} of {} slots left): {}\n{}\n--- verifier log (level 2, tail) ---\n{tail}\n--- original program ---\n{}\n",
        f.what,
        f.input,
        min.iter().filter(|i| i.code != 0x05 || i.off != 0).count(),
        raw.len(),
        min_f.map(|f| f.what).unwrap_or_default(),
        listing(&min),
        listing(raw),
    )
}

// ---- the host side --------------------------------------------------------

/// Map fds (indices) → addresses of the `maps::Map`s.
struct MapResolver(Vec<u64>);

impl Resolver for MapResolver {
    fn resolve(&self, _pc: usize, imm: LoadImm) -> Result<u64, BoxError> {
        match imm {
            LoadImm::MapFd(fd) => self
                .0
                .get(fd as usize)
                .copied()
                .ok_or_else(|| format!("no map with fd {fd}").into()),
            other => Err(format!("{other:?} is not provided by the harness").into()),
        }
    }
}

fn registry() -> HelperRegistry {
    let mut r = HelperRegistry::new();
    r.register(HelperId(id::MAP_LOOKUP_ELEM), map_lookup);
    r.register(HelperId(id::MAP_UPDATE_ELEM), map_update);
    r.register(HelperId(id::MAP_DELETE_ELEM), map_delete);
    r.register(HelperId(id::GET_PRANDOM_U32), prandom);
    r.register(HelperId(id::RINGBUF_RESERVE), ringbuf_reserve);
    r.register(HelperId(id::RINGBUF_SUBMIT), ringbuf_release);
    r.register(HelperId(id::RINGBUF_DISCARD), ringbuf_release);
    r
}

/// Ring buffer records a run may reserve.
const RECORD_SLOTS: usize = 16;

thread_local! {
    /// Memory for ring buffer records: fixed slots allocated once per
    /// thread and reused by every run, so that a record has the same
    /// address in the A, B and A runs of an input (a program may leak it
    /// into its result). Never freed: regions granted to past runs may
    /// point into it.
    static ARENA: Vec<std::cell::UnsafeCell<[u8; 4096]>> =
        (0..RECORD_SLOTS).map(|_| std::cell::UnsafeCell::new([0u8; 4096])).collect();
    /// Per slot: reserved and not yet submitted or discarded in this run.
    static OUTSTANDING: std::cell::RefCell<[bool; RECORD_SLOTS]> =
        const { std::cell::RefCell::new([false; RECORD_SLOTS]) };
    /// Slots handed out in this run.
    static NEXT_SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn slot_addr(i: usize) -> u64 {
    ARENA.with(|a| a[i].get().cast::<u8>().expose_provenance() as u64)
}

/// `bpf_ringbuf_reserve(map, size, flags)`: a record of exactly `size`
/// bytes (the maps crate's ring buffer is not needed to test the verifier:
/// what matters is the bounds and that every record is released).
///
/// # Safety
/// The helper contract of `vm::helpers`.
unsafe extern "C" fn ringbuf_reserve(
    m: u64,
    size: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let Some(map) = map_at(env, m) else { return 0 };
    if map.map_type() != uapi::MapType::Ringbuf || flags != 0 || size == 0 || size > 4096 {
        return 0;
    }
    let i = NEXT_SLOT.get();
    if i >= RECORD_SLOTS {
        return 0;
    }
    NEXT_SLOT.set(i + 1);
    let start = slot_addr(i);
    ARENA.with(|a| {
        // SAFETY: slot `i` is handed out once per run; no program or helper
        // accesses it before this grant.
        unsafe { (*a[i].get()).fill(0xcc) }
    });
    let region = Region {
        start,
        len: size,
        writable: true,
        kind: RegionKind::Helper,
    };
    // SAFETY: the arena lives as long as the thread and never moves; its
    // address was exposed by `slot_addr`.
    unsafe { env.grant(region) };
    OUTSTANDING.with(|o| o.borrow_mut()[i] = true);
    start
}

/// `bpf_ringbuf_submit` / `bpf_ringbuf_discard(record, flags)`.
///
/// # Safety
/// The helper contract of `vm::helpers`.
unsafe extern "C" fn ringbuf_release(
    p: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let slot = (0..RECORD_SLOTS).find(|&i| slot_addr(i) == p);
    let released =
        slot.is_some_and(|i| OUTSTANDING.with(|o| std::mem::take(&mut o.borrow_mut()[i])));
    if !released {
        env.fault(HelperFault::Other(format!(
            "{p:#x} is not an outstanding ring buffer record"
        )));
    }
    0
}

/// Records reserved and not released in the last run.
fn leaked_records() -> usize {
    OUTSTANDING.with(|o| o.borrow().iter().filter(|&&b| b).count())
}

/// The map at `addr`, or a fault.
fn map_at(env: &mut RunEnv<'_>, addr: u64) -> Option<Arc<maps::Map>> {
    let m = HelperHost::of(env).and_then(|h| {
        h.maps
            .iter()
            .find(|m| HelperHost::map_addr(m) == addr)
            .cloned()
    });
    if m.is_none() {
        env.fault(HelperFault::Other(format!("{addr:#x} is not a map")));
    }
    m
}

fn read(env: &mut RunEnv<'_>, addr: u64, len: u32) -> Option<Vec<u8>> {
    let mut b = vec![0u8; len as usize];
    match env.read_bytes(addr, &mut b) {
        Ok(()) => Some(b),
        Err(e) => {
            env.fault(e);
            None
        }
    }
}

/// `bpf_map_lookup_elem`, granting exactly the value's bytes.
///
/// # Safety
/// The helper contract of `vm::helpers`.
unsafe extern "C" fn map_lookup(
    m: u64,
    k: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let Some(map) = map_at(env, m) else { return 0 };
    let Some(key) = read(env, k, map.spec().key_size) else {
        return 0;
    };
    let p = map.lookup_ptr(&key, env.worker());
    if p.is_null() {
        return 0;
    }
    let start = p.expose_provenance() as u64;
    let region = Region {
        start,
        len: map.spec().value_size as u64,
        writable: true,
        kind: RegionKind::MapValue,
    };
    // SAFETY: the value lies in the map's mapping, which the host's `Arc`
    // keeps alive for the run; its address was exposed just above.
    unsafe { env.grant(region) };
    start
}

/// `bpf_map_update_elem`.
///
/// # Safety
/// The helper contract of `vm::helpers`.
unsafe extern "C" fn map_update(
    m: u64,
    k: u64,
    v: u64,
    flags: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let Some(map) = map_at(env, m) else { return 0 };
    let Some(key) = read(env, k, map.spec().key_size) else {
        return 0;
    };
    let Some(val) = read(env, v, map.spec().value_size) else {
        return 0;
    };
    match map.update_from_prog(&key, &val, flags, env.worker()) {
        Ok(()) => 0,
        Err(e) => -(e.errno() as i64) as u64,
    }
}

/// `bpf_map_delete_elem`.
///
/// # Safety
/// The helper contract of `vm::helpers`.
unsafe extern "C" fn map_delete(
    m: u64,
    k: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let Some(map) = map_at(env, m) else { return 0 };
    let Some(key) = read(env, k, map.spec().key_size) else {
        return 0;
    };
    match map.delete_from_prog(&key) {
        Ok(()) => 0,
        Err(e) => -(e.errno() as i64) as u64,
    }
}

thread_local! {
    static PRANDOM: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
}

/// `bpf_get_prandom_u32`, deterministic per run (reset before each), so
/// that the three runs of an input can be compared.
///
/// # Safety
/// The helper contract of `vm::helpers`; reads no memory.
unsafe extern "C" fn prandom(_: u64, _: u64, _: u64, _: u64, _: u64, _: &mut RunEnv<'_>) -> u64 {
    PRANDOM.with(|s| {
        let x = s
            .get()
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.set(x);
        x >> 33
    })
}

/// A program that fills all eight stack frames with `pattern` (each frame
/// calls the next), run before the program under test.
fn poison_program(pattern: u64) -> Program {
    let mut text = String::new();
    for d in 0..uapi::MAX_CALL_FRAMES {
        if d > 0 {
            text.push_str(&format!("f{d}:\n"));
        }
        text.push_str(&format!("r1 = {pattern:#x} ll\n"));
        for s in 1..=uapi::MAX_BPF_STACK / 8 {
            text.push_str(&format!("*(u64 *)(r10 - {}) = r1\n", s * 8));
        }
        if d + 1 < uapi::MAX_CALL_FRAMES {
            text.push_str(&format!("call f{}\n", d + 1));
        }
        text.push_str("r0 = 0\nexit\n");
    }
    let raw = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("poison program assembles");
    let helpers = HelperRegistry::new();
    Program::from_raw(&raw, &PrepareOptions::new(&helpers)).expect("poison program prepares")
}

/// One input: packet bytes, context field values, initial map contents.
#[derive(Debug, Clone)]
pub struct Input {
    packet: Vec<u8>,
    fields: [u32; 8],
    /// Per map: (key, value) pairs.
    contents: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
    prog_type: ProgType,
}

impl Input {
    fn random(src: &mut Src<'_>, maps: &[SafetyMap], prog_type: ProgType) -> Input {
        let len = match src.below(4) {
            0 => src.pick(&[0usize, 1, 2, 7, 8, 14, 63, 64]),
            _ => src.below(100) as usize,
        };
        let packet = (0..len).map(|_| src.below(256) as u8).collect();
        let mut fields = [0u32; 8];
        for f in &mut fields {
            *f = if src.chance(50) {
                src.below(16) as u32
            } else {
                src.u64() as u32
            };
        }
        let contents = maps
            .iter()
            .map(|m| {
                let keys: Vec<u64> = if m.map_type == uapi::MapType::Ringbuf {
                    Vec::new()
                } else if m.map_type == uapi::MapType::Array {
                    (0..m.max_entries as u64).collect()
                } else {
                    let mut ks: Vec<u64> = (0..src.below(m.max_entries as u64 + 1))
                        .map(|_| src.below(m.max_entries as u64 + 2))
                        .collect();
                    ks.sort_unstable();
                    ks.dedup();
                    ks
                };
                keys.into_iter()
                    .map(|k| {
                        let key = k.to_le_bytes()[..m.key_size as usize].to_vec();
                        let val = (0..m.value_size).map(|_| src.below(256) as u8).collect();
                        (key, val)
                    })
                    .collect()
            })
            .collect();
        Input {
            packet,
            fields,
            contents,
            prog_type,
        }
    }

    fn describe(&self) -> String {
        format!(
            "packet of {} bytes {:02x?}, ctx fields {:?}",
            self.packet.len(),
            &self.packet[..self.packet.len().min(16)],
            self.fields
        )
    }
}

/// What a run produced: everything a program can write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Output {
    r0: u64,
    ctx: Vec<u8>,
    packet: Vec<u8>,
    maps: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl Output {
    fn summary(&self) -> String {
        format!("r0={:#x} maps={:02x?}", self.r0, self.maps)
    }
}

/// The maps of one program, and reusable buffers (same addresses every
/// run, so runs are comparable).
struct World {
    maps: Vec<Arc<maps::Map>>,
}

impl World {
    fn new(specs: &[SafetyMap]) -> World {
        let maps = specs
            .iter()
            .map(|m| {
                let spec = maps::MapSpec::new(m.map_type, m.key_size, m.value_size, m.max_entries);
                Arc::new(maps::Map::create(spec, &maps::MapOptions::new(1)).expect("map created"))
            })
            .collect();
        World { maps }
    }

    fn reset(&self, input: &Input) {
        for (m, contents) in self.maps.iter().zip(&input.contents) {
            if m.map_type() == uapi::MapType::Hash {
                for k in m.keys().unwrap_or_default() {
                    let _ = m.delete(&k);
                }
            }
            for (k, v) in contents {
                m.update(k, v, 0).expect("initial map content");
            }
        }
    }

    fn dump(&self) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        self.maps
            .iter()
            .map(|m| {
                let mut keys = m.keys().unwrap_or_default();
                keys.sort();
                keys.into_iter()
                    .map(|k| {
                        let v = m.lookup(&k).unwrap_or_default();
                        (k, v)
                    })
                    .collect()
            })
            .collect()
    }

    fn run(
        &self,
        vm: &mut Machine,
        prog: &Program,
        poison: &Program,
        input: &Input,
        bufs: &mut Buffers,
    ) -> Result<Output, VmError> {
        self.reset(input);
        vm.run(poison, &mut RunEnv::new(), &[])
            .expect("poison program runs");
        PRANDOM.with(|s| s.set(1));
        OUTSTANDING.with(|o| *o.borrow_mut() = [false; RECORD_SLOTS]);
        NEXT_SLOT.set(0);
        let len = input.packet.len();
        bufs.pkt[..len].copy_from_slice(&input.packet);
        let xdp = input.prog_type == ProgType::Xdp;
        let ctx_size = bufs.ctx_size;
        let skew = bufs.ctx.as_ptr().align_offset(8).min(7);
        bufs.ctx.fill(0);
        let mut host = HelperHost::new(self.maps.clone());
        let r0;
        {
            let mut env = RunEnv::new();
            let pkt = env.add_region(&mut bufs.pkt[..len], RegionKind::Packet);
            let end = pkt + len as u64;
            let ctx = &mut bufs.ctx[skew..skew + ctx_size];
            fill_ctx(ctx, xdp, pkt, end, &input.fields, len as u32);
            let ctx_addr = if xdp {
                env.add_readonly_region(ctx, RegionKind::Context)
            } else {
                env.add_region(ctx, RegionKind::Context)
            };
            env.set_host(&mut host);
            r0 = vm.run(prog, &mut env, &[ctx_addr])?;
        }
        Ok(Output {
            r0,
            ctx: bufs.ctx[skew..skew + ctx_size].to_vec(),
            packet: bufs.pkt[..len].to_vec(),
            maps: self.dump(),
        })
    }
}

/// The packet and context memory of one input, reused by its runs.
struct Buffers {
    pkt: Vec<u8>,
    ctx: Vec<u8>,
    ctx_size: usize,
}

impl Buffers {
    fn new(input: &Input) -> Buffers {
        let ctx_size = match input.prog_type {
            ProgType::Xdp => uapi::ctx::kern::xdp::SIZE as usize,
            _ => uapi::ctx::kern::skb::SIZE as usize,
        };
        Buffers {
            pkt: vec![0u8; input.packet.len().max(1)],
            // Room to align the context to 8 bytes.
            ctx: vec![0u8; ctx_size + 8],
            ctx_size,
        }
    }
}

/// The context in oxbpf's runtime layout (`uapi::ctx::kern`).
fn fill_ctx(ctx: &mut [u8], xdp: bool, data: u64, end: u64, f: &[u32; 8], len: u32) {
    let put64 = |c: &mut [u8], off: u32, v: u64| {
        c[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes())
    };
    let put32 = |c: &mut [u8], off: u32, v: u32| {
        c[off as usize..off as usize + 4].copy_from_slice(&v.to_le_bytes())
    };
    if xdp {
        use uapi::ctx::kern::xdp as k;
        put64(ctx, k::DATA, data);
        put64(ctx, k::DATA_END, end);
        put64(ctx, k::DATA_META, data);
        put64(ctx, k::DATA_HARD_START, data);
        put32(ctx, k::INGRESS_IFINDEX, f[0]);
        put32(ctx, k::RX_QUEUE_INDEX, f[1]);
        put32(ctx, k::EGRESS_IFINDEX, f[2]);
    } else {
        use uapi::ctx::kern::skb as k;
        put64(ctx, k::DATA, data);
        put64(ctx, k::DATA_END, end);
        put64(ctx, k::DATA_META, data);
        put32(ctx, k::LEN, len);
        let u32s = [
            k::MARK,
            k::PRIORITY,
            k::HASH,
            k::CB,
            k::CB + 4,
            k::CB + 8,
            k::CB + 12,
            k::CB + 16,
        ];
        for (off, v) in u32s.iter().zip(f) {
            put32(ctx, *off, *v);
        }
    }
}
