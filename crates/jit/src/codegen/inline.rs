//! Inlined `bpf_map_lookup_elem` on array maps, as the kernel's verifier
//! rewrites it (`array_map_gen_lookup`, `percpu_array_map_gen_lookup`):
//! when the map in `r1` is known at compile time, the call becomes a
//! bounds check, a multiply and an add — no helper call, no fault check.
//! Lookups in known hash and LPM maps become a direct call of an unchecked
//! lookup (as the kernel calls `__htab_map_lookup_elem` directly), with
//! no fault check after it.
//!
//! The map is known when the `lddw r1, map` that loads it reaches the call
//! on every path: it lies in the same straight line of code (no jump lands
//! between them, no function starts there) and nothing in between writes
//! `r1`. The resolver hands out the map itself ([`vm::Resolver::map`]);
//! the compiled program keeps it alive, since the code holds addresses
//! into its memory.

use super::analysis::{Analysis, Callee};
use super::regs::{CTX, SCRATCH_C};
use super::Gen;
use crate::runtime::OFF_ENV;
use crate::x86::{self, Alu, Cc, Gpr, Mem, OpSize};
use isa::{Insn, LoadImm, Reg};
use std::sync::Arc;
use uapi::helpers::id;
use uapi::MapType;
use vm::{HelperFn, PrepareOptions, RunEnv};

/// An array lookup to emit inline (see [`maps::ArrayLayout`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArrayInline {
    pub base: u64,
    pub max_entries: u32,
    pub stride: i32,
    /// Per-CPU arrays: bytes between two workers' values, and the number
    /// of workers.
    pub per_cpu: Option<(i32, u32)>,
}

impl ArrayInline {
    fn of(map: &maps::Map) -> Option<ArrayInline> {
        let l = map.array_layout()?;
        if map.spec().key_size != 4 {
            return None;
        }
        let per_cpu = match l.per_cpu {
            None => None,
            Some((slot, n)) => Some((i32::try_from(slot).ok()?, n)),
        };
        Some(ArrayInline {
            base: l.base.expose_provenance() as u64,
            max_entries: l.max_entries,
            stride: i32::try_from(l.stride).ok()?,
            per_cpu,
        })
    }
}

/// Turns the lookups on known array maps into [`Callee::ArrayLookup`];
/// returns the maps they read, which the program must keep.
pub(crate) fn inline_lookups(an: &mut Analysis, opts: &PrepareOptions<'_>) -> Vec<Arc<maps::Map>> {
    let Some(resolver) = opts.resolver else {
        return Vec::new();
    };
    let builtin: HelperFn = vm::helpers::maps::map_lookup_elem;
    let mut held: Vec<Arc<maps::Map>> = Vec::new();
    for i in 0..an.insns.len() {
        let Some(Callee::Helper { id: hid, f }) = an.callees[i] else {
            continue;
        };
        if hid != id::MAP_LOOKUP_ELEM || f as usize != builtin as usize {
            continue;
        }
        let Some((j, imm)) = map_in_r1(an, i) else {
            continue;
        };
        let Some(map) = resolver.map(an.insns[j].0, imm) else {
            continue;
        };
        // The address the helper would get must be this map's.
        if an.lddw[j] != Arc::as_ptr(&map).expose_provenance() as u64 {
            continue;
        }
        if let Some(a) = ArrayInline::of(&map) {
            an.callees[i] = Some(Callee::ArrayLookup(a));
        } else if matches!(
            map.map_type(),
            MapType::Hash
                | MapType::PercpuHash
                | MapType::LruHash
                | MapType::LruPercpuHash
                | MapType::LpmTrie
        ) && map.spec().key_size > 0
        {
            an.callees[i] = Some(Callee::KnownLookup);
        } else {
            continue;
        }
        if !held.iter().any(|m| Arc::ptr_eq(m, &map)) {
            held.push(map);
        }
    }
    held
}

/// The `lddw r1, map` (instruction index and form) that sets `r1` for the call at
/// instruction `i` on every path, if there is one.
fn map_in_r1(an: &Analysis, i: usize) -> Option<(usize, LoadImm)> {
    let mut j = i;
    loop {
        let pc = an.insns[j].0;
        // Control may arrive here from elsewhere, with another r1.
        if an.targets.get(pc).copied().unwrap_or(true) || an.is_entry(pc) || j == 0 {
            return None;
        }
        j -= 1;
        match an.insns[j].1 {
            Insn::LoadImm64 {
                dst: Reg::R1,
                imm: imm @ (LoadImm::MapFd(_) | LoadImm::MapIdx(_)),
            } => return Some((j, imm)),
            Insn::LoadImm64 { dst: Reg::R1, .. }
            | Insn::Call(_)
            | Insn::CallX { .. }
            | Insn::LoadPacket { .. }
            | Insn::Exit
            | Insn::Ja { .. } => return None,
            ref insn if writes_r1(insn) => return None,
            _ => {}
        }
    }
}

fn writes_r1(insn: &Insn) -> bool {
    use isa::AtomicOp;
    match *insn {
        Insn::Alu { dst, .. }
        | Insn::Neg { dst, .. }
        | Insn::Endian { dst, .. }
        | Insn::LoadImm64 { dst, .. }
        | Insn::MovSx { dst, .. }
        | Insn::Load { dst, .. } => dst == Reg::R1,
        Insn::Atomic { op, src, .. } => op != AtomicOp::Cmpxchg && op.fetches() && src == Reg::R1,
        _ => false,
    }
}

impl Gen<'_, '_> {
    /// `r0 = &array[*(u32 *)r2]` or 0 (for per-CPU arrays: the running
    /// worker's value). Clobbers only registers a helper call clobbers.
    pub(super) fn array_lookup(&mut self, a: ArrayInline) {
        use Gpr::*;
        let null = self.label();
        let done = self.label();
        self.e(x86::load_zx(OpSize::B32, Rax, Mem::at(Rsi, 0)));
        self.e(x86::alu_ri(Alu::Cmp, false, Rax, a.max_entries as i32));
        self.buf.jcc(Cc::Ae, null);
        self.scale(Rax, a.stride);
        if let Some((slot, ncpus)) = a.per_cpu {
            let worker = RunEnv::WORKER_OFFSET as i32;
            self.e(x86::load64(Rcx, Mem::at(CTX, OFF_ENV)));
            self.e(x86::load_zx(OpSize::B32, Rcx, Mem::at(Rcx, worker)));
            self.e(x86::alu_ri(Alu::Cmp, false, Rcx, ncpus as i32));
            self.buf.jcc(Cc::Ae, null);
            self.scale(Rcx, slot);
            self.e(x86::alu_rr(Alu::Add, true, Rax, Rcx));
        }
        self.e(x86::mov_imm64(Rdx, a.base));
        self.e(x86::alu_rr(Alu::Add, true, Rax, Rdx));
        self.buf.jmp(done);
        self.bind(null);
        self.e(x86::alu_rr(Alu::Xor, false, Rax, Rax));
        self.bind(done);
    }

    /// A lookup in a hash or LPM map known at compile time: a direct call
    /// of the lookup, which needs no fault check and moves no packet.
    pub(super) fn known_lookup(&mut self) {
        self.e(x86::load64(SCRATCH_C, Mem::at(CTX, OFF_ENV)));
        let f: HelperFn = vm::helpers::maps::map_lookup_elem_known;
        self.buf.call_abs(f as usize as u64, Gpr::Rax);
    }

    /// `r *= k` (a shift when `k` is a power of two).
    fn scale(&mut self, r: Gpr, k: i32) {
        if k > 0 && (k as u32).is_power_of_two() {
            let n = k.trailing_zeros() as u8;
            if n > 0 {
                self.e(x86::shift_ri(x86::Shift::Shl, OpSize::B64, r, n));
            }
        } else {
            self.e(x86::imul_rri(true, r, r, k));
        }
    }
}
