//! Program preparation: decoded instructions → the internal form, with every
//! static check the interpreter relies on done once.
//!
//! After [`Program::prepare`] succeeds the dispatch loop can assume, without
//! checking again, that every jump and call target is a valid instruction
//! (never the second slot of an `lddw`), that the last instruction does not
//! fall through (so `pc + 1` after any other instruction is in range), that
//! every helper call has a function, and that every `lddw` has its value.

use crate::error::{BoxError, PrepareError};
use crate::helpers::{HelperFn, HelperRegistry};
use crate::lower;
use crate::op::Op;
use isa::{CallTarget, Insn, LoadImm, RawInsn};
use uapi::helpers::id;
use uapi::HelperId;

/// The tag of interpreter subprogram addresses; see [`subprog_addr`].
pub const SUBPROG_ADDR_TAG: u64 = 0x0bf0_ca11_0000_0000;

/// The value an `lddw rX, <subprogram>` (`BPF_PSEUDO_FUNC`) loads in the
/// interpreter, which `callx rX` calls: [`SUBPROG_ADDR_TAG`] in the upper 32
/// bits, the subprogram's slot index in the lower.
///
/// Why this form: the kernel loads the subprogram's machine-code address,
/// which means nothing to an interpreter; the slot index alone would collide
/// with small helper numbers (see [`PrepareOptions::callx_helper_ids`]); and
/// the tag makes the value a non-canonical x86-64 address, so a program that
/// dereferences it faults in checked mode rather than reading something.
/// `callx` accepts only values whose slot is a subprogram entry (slot 0, the
/// target of a local call, or of a `BPF_PSEUDO_FUNC` `lddw`).
pub const fn subprog_addr(slot: u32) -> u64 {
    SUBPROG_ADDR_TAG | slot as u64
}

/// Resolves the pseudo forms of `lddw` (map fd → map pointer, map value →
/// pointer into global data, BTF id → ksym address, …). The loader
/// implements it; the interpreter only executes plain constants.
pub trait Resolver {
    /// The 64-bit value the `lddw` at slot `pc` loads.
    fn resolve(&self, pc: usize, imm: LoadImm) -> Result<u64, BoxError>;

    /// The map a `BPF_PSEUDO_MAP_FD`/`BPF_PSEUDO_MAP_IDX` `lddw` names,
    /// when [`Resolver::resolve`] gives its address as a [`maps::Map`]
    /// (what the helpers expect): lets an engine specialise calls on a
    /// map it knows at compile time, as the kernel's verifier inlines
    /// array lookups. Holding the `Arc` keeps the map alive. `None` (the
    /// default): nothing is specialised.
    fn map(&self, _pc: usize, _imm: LoadImm) -> Option<std::sync::Arc<maps::Map>> {
        None
    }
}

/// How to prepare a program.
#[derive(Clone, Copy)]
pub struct PrepareOptions<'a> {
    /// Helper number → function; calls to numbers missing here are refused.
    pub helpers: &'a HelperRegistry,
    /// Resolver of pseudo `lddw` forms; `None` refuses them.
    pub resolver: Option<&'a dyn Resolver>,
    /// Let `callx` treat a register value below 2^32 as a helper number
    /// (what the conformance suite's `callx` test does: `mov r2, 5; callx
    /// r2`). Off by default: in the kernel a `callx` register holds a
    /// function address.
    pub callx_helper_ids: bool,
}

impl<'a> PrepareOptions<'a> {
    /// Defaults: the given helpers, no resolver, no callx-by-helper-id.
    pub fn new(helpers: &'a HelperRegistry) -> Self {
        PrepareOptions {
            helpers,
            resolver: None,
            callx_helper_ids: false,
        }
    }
}

/// Whether memory accesses are checked; see [`crate::memory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// Every access validated against the run's regions (the default).
    Checked,
    /// Raw pointer access, for verified programs only.
    Unchecked,
}

/// A program in the interpreter's internal form, ready to run any number of
/// times, on any number of threads at once (it is immutable).
#[derive(Clone)]
pub struct Program {
    pub(crate) ops: Box<[Op]>,
    /// `entries[slot]`: whether `slot` begins a subprogram (callx targets).
    pub(crate) entries: Box<[bool]>,
    /// The helper table, kept when `callx` may name helpers by number.
    pub(crate) callx_helpers: Option<Box<[Option<HelperFn>]>>,
    pub(crate) mode: ExecMode,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("slots", &self.ops.len())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// Decodes and prepares a program given as bytes (8 per slot).
    pub fn from_bytes(bytes: &[u8], opts: &PrepareOptions<'_>) -> Result<Program, PrepareError> {
        Self::from_raw(&RawInsn::slice_from_bytes(bytes)?, opts)
    }

    /// Decodes and prepares a program given as raw slots.
    pub fn from_raw(raw: &[RawInsn], opts: &PrepareOptions<'_>) -> Result<Program, PrepareError> {
        let insns: Vec<Insn> = isa::decode_program(raw)?
            .into_iter()
            .map(|(_, insn)| insn)
            .collect();
        Self::prepare(&insns, opts)
    }

    /// Prepares a sequence of instructions (each at the slot after the
    /// previous one; `lddw` takes two). The result runs in checked mode.
    pub fn prepare(insns: &[Insn], opts: &PrepareOptions<'_>) -> Result<Program, PrepareError> {
        let insns: Vec<(usize, Insn)> = insns
            .iter()
            .scan(0usize, |pc, &insn| {
                let at = *pc;
                *pc += insn.slots();
                Some((at, insn))
            })
            .collect();
        let Some(&(last_pc, last)) = insns.last() else {
            return Err(PrepareError::Empty);
        };
        let slots = last_pc + last.slots();
        if slots > uapi::MAX_INSNS {
            return Err(PrepareError::TooLarge {
                len: slots,
                max: uapi::MAX_INSNS,
            });
        }
        let mut starts = vec![false; slots];
        for &(pc, _) in &insns {
            starts[pc] = true;
        }
        let mut ops = vec![Op::Gap; slots];
        let mut entries = vec![false; slots];
        entries[0] = true;
        for &(pc, insn) in &insns {
            let target = |t: i64| resolve_target(pc, t, &starts);
            ops[pc] = lower_insn(pc, insn, opts, target)?;
            match insn {
                Insn::Call(CallTarget::Local { .. })
                | Insn::LoadImm64 {
                    imm: LoadImm::Func { .. },
                    ..
                } => {
                    let t = insn.branch_target(pc).expect("local call has a target") as usize;
                    entries[t] = true;
                }
                _ => {}
            }
        }
        if !last.is_terminator() {
            return Err(PrepareError::FallsOffEnd { pc: last_pc });
        }
        Ok(Program {
            ops: ops.into_boxed_slice(),
            entries: entries.into_boxed_slice(),
            callx_helpers: opts
                .callx_helper_ids
                .then(|| opts.helpers.table().to_vec().into_boxed_slice()),
            mode: ExecMode::Checked,
        })
    }

    /// Prepares a program the verifier accepted (its instructions after the
    /// verifier's rewrites) to run in unchecked mode, as the kernel runs
    /// verified programs: the safe way to what
    /// [`Program::assume_verified`] does.
    ///
    /// The verifier's proof holds for runs with a context of the program
    /// type it checked, maps resolved (through `opts.resolver`) to the maps
    /// whose metadata it was given, and helpers that honour their kernel
    /// prototypes — the host's wiring, which the runtime provides.
    pub fn from_verified(
        prog: &verifier::VerifiedProgram,
        opts: &PrepareOptions<'_>,
    ) -> Result<Program, PrepareError> {
        let p = Self::from_raw(prog.insns(), opts)?;
        // SAFETY: the verifier accepted exactly these instructions; see the
        // documentation for the host's part.
        Ok(unsafe { p.assume_verified() })
    }

    /// Switches the program to unchecked mode: memory accesses use raw
    /// pointers with no validation, as the kernel runs verified programs.
    ///
    /// # Safety
    /// A verifier must have proved, for every run the program will have,
    /// that every load, store and atomic stays within memory valid for it
    /// (stack, context, packet, map values, helper-returned memory), that
    /// atomics are naturally aligned, and that helper pointer arguments meet
    /// the helpers' prototypes. (The verifier will hand out a safe token for
    /// this; until it exists this is the only way.)
    pub unsafe fn assume_verified(mut self) -> Program {
        self.mode = ExecMode::Unchecked;
        self
    }

    /// The mode runs of this program use.
    pub fn mode(&self) -> ExecMode {
        self.mode
    }

    /// Number of 8-byte slots.
    pub fn slots(&self) -> usize {
        self.ops.len()
    }

    /// Whether `slot` begins a subprogram (slot 0 or a call target).
    pub fn is_subprog_entry(&self, slot: usize) -> bool {
        self.entries.get(slot).copied().unwrap_or(false)
    }
}

/// Checks a branch target: inside the program and on an instruction start.
fn resolve_target(pc: usize, target: i64, starts: &[bool]) -> Result<u32, PrepareError> {
    if target < 0 || target >= starts.len() as i64 {
        return Err(PrepareError::JumpOutOfRange { pc, target });
    }
    if !starts[target as usize] {
        return Err(PrepareError::JumpIntoLddw {
            pc,
            target: target as usize,
        });
    }
    Ok(target as u32)
}

/// Lowers one instruction; `target` resolves its branch target.
fn lower_insn(
    pc: usize,
    insn: Insn,
    opts: &PrepareOptions<'_>,
    target: impl Fn(i64) -> Result<u32, PrepareError>,
) -> Result<Op, PrepareError> {
    let branch = || target(insn.branch_target(pc).expect("branch insn has a target"));
    Ok(match insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => lower::alu(width, op, dst, src),
        Insn::Neg { width, dst } => lower::neg(width, dst),
        Insn::MovSx {
            width,
            dst,
            src,
            bits,
        } => lower::movsx(width, dst, src, bits),
        Insn::Endian { order, dst, bits } => lower::endian(order, dst, bits),
        Insn::LoadImm64 { dst, imm } => Op::Lddw {
            d: dst.n(),
            imm: lddw_value(pc, imm, opts, branch)?,
        },
        Insn::LoadPacket { mode, size, imm } => lower::packet(mode, size, imm),
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => lower::load(size, signed, dst, src, off),
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => lower::store(size, dst, off, src),
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => Op::Atomic {
            size,
            op,
            d: dst.n(),
            s: src.n(),
            off,
        },
        Insn::Ja { .. } => Op::Ja { t: branch()? },
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            ..
        } => lower::jump(width, cond, dst, src, branch()?),
        Insn::Call(CallTarget::Helper(n)) => helper_call(pc, n, opts)?,
        Insn::Call(CallTarget::Local { .. }) => Op::CallLocal { t: branch()? },
        Insn::Call(CallTarget::Kfunc { .. }) => {
            return Err(PrepareError::Unsupported {
                pc,
                what: "kfunc call",
            })
        }
        Insn::CallX { reg, .. } => Op::CallX { r: reg.n() },
        Insn::Exit => Op::Exit,
    })
}

/// The value of an `lddw`: constants as is, subprogram addresses here,
/// everything else through the loader's resolver.
fn lddw_value(
    pc: usize,
    imm: LoadImm,
    opts: &PrepareOptions<'_>,
    branch: impl Fn() -> Result<u32, PrepareError>,
) -> Result<u64, PrepareError> {
    match imm {
        LoadImm::Imm(v) => Ok(v),
        LoadImm::Func { .. } => Ok(subprog_addr(branch()?)),
        _ => match opts.resolver {
            None => Err(PrepareError::Unresolved {
                pc,
                imm,
                source: None,
            }),
            Some(r) => r.resolve(pc, imm).map_err(|e| PrepareError::Unresolved {
                pc,
                imm,
                source: Some(e),
            }),
        },
    }
}

/// `call N`: the registry's function, or one of the helpers the
/// interpreter runs itself because they need its state (tail calls, the
/// helpers that call back into the program).
fn helper_call(pc: usize, n: i32, opts: &PrepareOptions<'_>) -> Result<Op, PrepareError> {
    let idn = n as u32;
    match idn {
        id::TAIL_CALL => return Ok(Op::TailCall),
        id::LOOP => return Ok(Op::Loop),
        id::FOR_EACH_MAP_ELEM => return Ok(Op::ForEachMapElem),
        _ => {}
    }
    match opts.helpers.get(idn) {
        Some(f) => Ok(Op::Call { id: idn, f }),
        None => Err(PrepareError::UnknownHelper {
            pc,
            helper: HelperId(idn),
        }),
    }
}
