//! Calls (helpers, bpf-to-bpf, callx, tail calls), the budget, and what
//! preparation refuses.

use super::*;
use crate::error::{BoxError, HelperFault, PrepareError};
use crate::{subprog_addr, AccessKind, RunEnv, TailCallHook};
use std::collections::HashMap;
use std::sync::Arc;
use uapi::HelperId;

#[test]
fn bpf_to_bpf_calls_preserve_r6_to_r9_and_have_their_own_frame() {
    #[rustfmt::skip]
    let insns = [
        mov(6, 6), mov(7, 7), mov(8, 8), mov(9, 9),
        mov(1, 100),
        stx(Size::DW, 10, -8, 1),       // caller's slot fp-8 = 100
        movr(1, 10),                    // pass a pointer to it
        call_local(7),                  // 7 → 15
        // back: r6–r9 restored, fp-8 intact, callee wrote through r1 into it? no: into its own
        alu64r(AluOp::Add, 0, 6), alu64r(AluOp::Add, 0, 7),
        alu64r(AluOp::Add, 0, 8), alu64r(AluOp::Add, 0, 9),
        ldx(Size::DW, 1, 10, -8),
        alu64r(AluOp::Add, 0, 1),
        EXIT,
        // 15: callee
        mov(6, 0), mov(7, 0), mov(8, 0), mov(9, 0),
        mov(2, 5),
        stx(Size::DW, 10, -8, 2),       // its own fp-8
        ldx(Size::DW, 3, 1, -8),        // read the caller's slot through the pointer
        ldx(Size::DW, 0, 10, -8),
        alu64r(AluOp::Add, 0, 3),       // 5 + 100
        EXIT,
    ];
    assert_eq!(run(&insns), Ok(105 + 6 + 7 + 8 + 9 + 100));
}

/// main → f(N) → f(N-1) … → f(0): N + 2 frames.
fn recursion(n: i32) -> Vec<Insn> {
    vec![
        mov(1, n),
        call_local(1), // → 3
        EXIT,
        jmp(JmpCond::Eq, 1, 0, 2), // 3 → 6
        alu64(AluOp::Sub, 1, 1),
        call_local(-3), // 5 → 3
        mov(0, 1),
        EXIT,
    ]
}

#[test]
fn call_depth_is_limited_to_eight_frames() {
    assert_eq!(run(&recursion(6)), Ok(1)); // 8 frames
    assert_eq!(
        run(&recursion(7)), // 9 frames
        Err(VmError::CallDepthExceeded { pc: 5, max: 8 })
    );
}

#[test]
fn budget_stops_endless_loops_and_counts_exactly() {
    let mut vm = Machine::new();
    vm.set_budget(1000);
    let p = prog(&[mov(0, 0), ja(-1)]);
    let err = vm.run(&p, &mut RunEnv::new(), &[]).unwrap_err();
    assert_eq!(
        err,
        VmError::BudgetExhausted {
            pc: 1,
            budget: 1000
        }
    );
    // A loop of 10 iterations × 3 insns + 2 setup + exit, lddw = 2 slots.
    let p = prog(&[
        lddw(0, 0),
        mov(1, 10),
        alu64(AluOp::Add, 0, 1),
        alu64(AluOp::Sub, 1, 1),
        jmp(JmpCond::Ne, 1, 0, -3),
        EXIT,
    ]);
    assert_eq!(vm.run(&p, &mut RunEnv::new(), &[]), Ok(10));
    assert_eq!(vm.executed(), 2 + 1 + 10 * 3 + 1);
    // The 9th taken jump brings the count to 30: over a budget of 29.
    vm.set_budget(vm.executed() - 5);
    assert!(matches!(
        vm.run(&p, &mut RunEnv::new(), &[]),
        Err(VmError::BudgetExhausted { .. })
    ));
    // Recursion that never ends is stopped by depth, calls count too.
    let p = prog(&[call_local(-1), EXIT]);
    assert_eq!(
        Machine::new().run(&p, &mut RunEnv::new(), &[]),
        Err(VmError::CallDepthExceeded { pc: 0, max: 8 })
    );
}

#[test]
fn callx_calls_subprograms_and_optionally_helpers() {
    let func = Insn::LoadImm64 {
        dst: r(3),
        imm: isa::LoadImm::Func { rel: 4 }, // 0 → slot 5
    };
    let callx = |reg| Insn::CallX {
        reg: r(reg),
        encoding: isa::CallxEncoding::Dst,
    };
    let insns = [
        func,
        callx(3),
        alu64(AluOp::Add, 0, 1),
        EXIT,
        mov(0, 41),
        EXIT,
    ];
    assert_eq!(run(&insns), Ok(42));
    // The address is the documented representation.
    let show = [func, movr(0, 3), EXIT, EXIT, mov(0, 41), EXIT];
    assert_eq!(run(&show), Ok(subprog_addr(5)));
    // Not a subprogram entry: refused, naming the value.
    let bad = [lddw(3, subprog_addr(2)), callx(3), EXIT];
    assert_eq!(
        run(&bad),
        Err(VmError::BadCallTarget {
            pc: 2,
            value: subprog_addr(2)
        })
    );
    // A helper number: only with callx_helper_ids.
    let helper = [mov(1, 0), mov(2, id_of_smp()), callx(2), EXIT];
    let mut env = RunEnv::new();
    env.set_worker(3);
    let p = prog(&helper);
    assert_eq!(Machine::new().run(&p, &mut env, &[]), Ok(3));
    let strict = Program::prepare(
        &helper,
        &PrepareOptions::new(&HelperRegistry::with_builtins()),
    )
    .unwrap();
    assert!(matches!(
        Machine::new().run(&strict, &mut env, &[]),
        Err(VmError::BadCallTarget { pc: 2, value: 8 })
    ));
}

fn id_of_smp() -> i32 {
    uapi::helpers::id::GET_SMP_PROCESSOR_ID as i32
}

/// Sums the bytes at (r1, r2) read through the environment; faults when the
/// pointer is bad.
unsafe extern "C" fn sum_bytes(
    p: u64,
    n: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let mut buf = vec![0u8; n as usize];
    match env.read_bytes(p, &mut buf) {
        Ok(()) => buf.iter().map(|&b| b as u64).sum(),
        Err(f) => {
            env.fault(f);
            0
        }
    }
}

#[test]
fn helpers_get_arguments_and_checked_memory() {
    let mut helpers = HelperRegistry::new();
    helpers.register(HelperId(1000), sum_bytes);
    let insns = [
        mov(1, 0x0102_0304),
        stx(Size::W, 10, -4, 1),
        movr(1, 10),
        alu64(AluOp::Add, 1, -4),
        mov(2, 4),
        call(1000),
        EXIT,
    ];
    let p = prog_with(&insns, &helpers);
    assert_eq!(Machine::new().run(&p, &mut RunEnv::new(), &[]), Ok(10));
    // Ask for 8 bytes from fp-4: the helper's check fails and the run stops.
    let mut bad = insns;
    bad[4] = mov(2, 8);
    let p = prog_with(&bad, &helpers);
    let err = Machine::new().run(&p, &mut RunEnv::new(), &[]).unwrap_err();
    let VmError::Helper {
        pc: 5,
        helper: HelperId(1000),
        fault,
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(matches!(
        fault,
        HelperFault::BadPointer {
            len: 8,
            access: AccessKind::Read,
            ..
        }
    ));
}

struct ProgArray(HashMap<u32, Arc<Program>>);

impl TailCallHook for ProgArray {
    fn lookup(&self, _map: u64, index: u32) -> Option<Arc<Program>> {
        self.0.get(&index).cloned()
    }
}

#[test]
fn tail_calls_replace_the_program_and_are_limited() {
    let target = Arc::new(prog(&[alu64(AluOp::Add, 0, 40), EXIT]));
    let caller = prog(&[mov(0, 2), mov(3, 1), call(12), mov(0, -1), EXIT]);
    let missing = prog(&[mov(0, 2), mov(3, 9), call(12), mov(0, -1), EXIT]);
    let hook = ProgArray(HashMap::from([(1, target)]));
    let mut env = RunEnv::new();
    env.set_tail_calls(&hook);
    let mut vm = Machine::new();
    assert_eq!(vm.run(&caller, &mut env, &[]), Ok(42));
    assert_eq!(vm.run(&missing, &mut env, &[]), Ok(u64::MAX));
    // A program that tail-calls itself: 33 tail calls succeed, then it falls
    // through (r6 counts the entries).
    let selfcall = Arc::new(prog(&[
        alu64(AluOp::Add, 6, 1),
        mov(3, 0),
        call(12),
        movr(0, 6),
        EXIT,
    ]));
    let hook = ProgArray(HashMap::from([(0, selfcall.clone())]));
    let mut env = RunEnv::new();
    env.set_tail_calls(&hook);
    assert_eq!(vm.run(&selfcall, &mut env, &[]), Ok(1 + 33));
    // From a subprogram the target takes the subprogram's place: its
    // exit returns to the subprogram's caller (here the target tail-calls
    // itself 32 more times, each time in that same place, then returns
    // r6 = 33 entries; the caller's r6 is restored as on any return).
    let sub = prog(&[call_local(1), EXIT, mov(3, 0), call(12), EXIT]);
    assert_eq!(vm.run(&sub, &mut env, &[]), Ok(33));
    let sub_ret = prog(&[
        call_local(2),
        alu64(AluOp::Add, 0, 100),
        EXIT,
        mov(3, 0),
        call(12),
        EXIT,
    ]);
    assert_eq!(vm.run(&sub_ret, &mut env, &[]), Ok(133));
}

struct Maps;

impl crate::Resolver for Maps {
    fn resolve(&self, _pc: usize, imm: isa::LoadImm) -> Result<u64, BoxError> {
        match imm {
            isa::LoadImm::MapFd(fd) => Ok(0x1000 + fd as u64),
            _ => Err("not a map".into()),
        }
    }
}

#[test]
fn preparation_refuses_with_the_place() {
    let helpers = HelperRegistry::with_builtins();
    let opts = PrepareOptions::new(&helpers);
    let err = |insns: &[Insn]| Program::prepare(insns, &opts).unwrap_err();
    assert!(matches!(err(&[]), PrepareError::Empty));
    let e = err(&[mov(0, 0), call(1), EXIT]);
    assert!(matches!(
        e,
        PrepareError::UnknownHelper {
            pc: 1,
            helper: HelperId(1)
        }
    ));
    assert_eq!(e.to_string(), "insn 1: unknown func bpf_map_lookup_elem#1");
    assert!(matches!(
        err(&[ja(5), EXIT]),
        PrepareError::JumpOutOfRange { pc: 0, target: 6 }
    ));
    assert!(matches!(
        err(&[ja(-2), EXIT]),
        PrepareError::JumpOutOfRange { pc: 0, target: -1 }
    ));
    assert!(matches!(
        err(&[ja(1), lddw(0, 1), EXIT]),
        PrepareError::JumpIntoLddw { pc: 0, target: 2 }
    ));
    assert!(matches!(
        err(&[mov(0, 0)]),
        PrepareError::FallsOffEnd { pc: 0 }
    ));
    assert!(matches!(
        err(&[EXIT, jmp(JmpCond::Eq, 0, 0, -2)]),
        PrepareError::FallsOffEnd { pc: 1 }
    ));
    let map = Insn::LoadImm64 {
        dst: r(1),
        imm: isa::LoadImm::MapFd(3),
    };
    assert!(matches!(
        err(&[map, EXIT]),
        PrepareError::Unresolved {
            pc: 0,
            source: None,
            ..
        }
    ));
    let kfunc = Insn::Call(CallTarget::Kfunc {
        btf_id: 1,
        module: 0,
    });
    assert!(matches!(
        err(&[kfunc, EXIT]),
        PrepareError::Unsupported { pc: 0, .. }
    ));
    // With a resolver the map fd becomes its value.
    let with = PrepareOptions {
        resolver: Some(&Maps),
        ..opts
    };
    let p = Program::prepare(&[map, movr(0, 1), EXIT], &with).unwrap();
    assert_eq!(Machine::new().run(&p, &mut RunEnv::new(), &[]), Ok(0x1003));
    let value = Insn::LoadImm64 {
        dst: r(1),
        imm: isa::LoadImm::MapValue { fd: 1, off: 0 },
    };
    let e = Program::prepare(&[value, EXIT], &with).unwrap_err();
    assert_eq!(
        e.to_string(),
        "insn 0: unresolved ldimm64 MapValue { fd: 1, off: 0 }: not a map"
    );
    // Bytes that do not decode name the instruction.
    let e = Program::from_bytes(
        &[0x95, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x10, 0, 0, 1, 0, 0, 0],
        &opts,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "insn 1: BPF_ALU64 uses reserved fields (src_reg must be 0)"
    );
}

#[test]
fn too_many_arguments() {
    let p = prog(&[EXIT]);
    assert_eq!(
        Machine::new().run(&p, &mut RunEnv::new(), &[0; 6]),
        Err(VmError::TooManyArgs { count: 6 })
    );
}
