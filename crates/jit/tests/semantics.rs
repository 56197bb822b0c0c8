//! The JIT's edge cases against the interpreter: every operation whose
//! x86 lowering is more than one instruction, with the registers the
//! lowering borrows (`rax`/`rdx` for division, `rcx` for shifts, `rax` for
//! `cmpxchg`) as destination and source, on the values where kernel
//! semantics differ from the CPU's. Each case runs on the interpreter and
//! on four JIT variants (blinding on/off, BMI2 on/off), and the whole
//! register file is compared through the testkit harness.

mod common;

use common::{agree, agree_with, asm};
use isa::{AluOp, AtomicOp, CallTarget, Insn, LoadImm, Operand, PacketMode, Reg, Size, Width};
use testkit::gen::{self, Body, Stmt};
use uapi::HelperId;
use vm::{HelperFault, HelperRegistry, RunEnv};

/// Runs `body` with `regs` loaded into r0–r9 before it; returns r0–r9
/// after it (the same on every engine, or the test fails).
fn regs_after(body: Vec<Insn>, regs: [u64; 10]) -> [u64; 10] {
    let b = Body {
        stmts: body.into_iter().map(Stmt::Op).collect(),
    };
    let (r, mem) = agree(&gen::mem_program(&b), &gen::regs_to_bytes(&regs));
    assert!(r.is_ok(), "{r:?}");
    gen::regs_from_bytes(&mem).expect("80 bytes")
}

const VALUES: [u64; 9] = [
    0,
    1,
    7,
    u64::MAX,     // -1
    -7i64 as u64, // -7
    i32::MIN as u32 as u64,
    i32::MIN as i64 as u64,
    u32::MAX as u64,
    i64::MIN as u64,
];

/// Register pairs (dst, src) that exercise every special case of the
/// lowerings: r0 = rax, r3 = rdx, r4 = rcx, and registers with nothing
/// special.
const PAIRS: [(u8, u8); 10] = [
    (0, 1),
    (1, 0),
    (3, 0),
    (0, 3),
    (4, 3),
    (3, 4),
    (0, 0),
    (4, 4),
    (6, 4),
    (2, 5),
];

fn reg(n: u8) -> Reg {
    Reg::new(n).expect("register")
}

fn regs_with(dst: u8, a: u64, src: u8, b: u64) -> [u64; 10] {
    let mut regs = [0x1111_2222_3333_4444u64; 10];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = r.wrapping_mul(i as u64 + 1);
    }
    regs[dst as usize] = a;
    regs[src as usize] = b;
    regs
}

#[test]
fn division_and_modulo_by_registers() {
    for op in [AluOp::Div, AluOp::SDiv, AluOp::Mod, AluOp::SMod] {
        for width in [Width::W64, Width::W32] {
            for (d, s) in PAIRS {
                for a in VALUES {
                    for b in VALUES {
                        let insn = Insn::Alu {
                            width,
                            op,
                            dst: reg(d),
                            src: Operand::Reg(reg(s)),
                        };
                        regs_after(vec![insn], regs_with(d, a, s, b));
                    }
                }
            }
        }
    }
}

#[test]
fn division_and_modulo_by_immediates() {
    let imms = [0, 1, -1, 2, 7, -7, i32::MIN, 1 << 30, i32::MAX, 1 << 12];
    for op in [AluOp::Div, AluOp::SDiv, AluOp::Mod, AluOp::SMod] {
        for width in [Width::W64, Width::W32] {
            for d in [0u8, 3, 4, 6] {
                for imm in imms {
                    for a in VALUES {
                        let insn = Insn::Alu {
                            width,
                            op,
                            dst: reg(d),
                            src: Operand::Imm(imm),
                        };
                        regs_after(vec![insn], regs_with(d, a, d, a));
                    }
                }
            }
        }
    }
}

#[test]
fn shifts_through_every_count_register() {
    let counts = [0u64, 1, 31, 32, 33, 63, 64, 65, u64::MAX];
    for op in [AluOp::Lsh, AluOp::Rsh, AluOp::Arsh] {
        for width in [Width::W64, Width::W32] {
            for (d, s) in PAIRS {
                for a in [u64::MAX, 0x8000_0000_8000_0001, 0x1234_5678_9abc_def0] {
                    for c in counts {
                        let insn = Insn::Alu {
                            width,
                            op,
                            dst: reg(d),
                            src: Operand::Reg(reg(s)),
                        };
                        regs_after(vec![insn], regs_with(d, a, s, c));
                    }
                    for imm in [0, 1, 31, 32, 63, 64, -1] {
                        let insn = Insn::Alu {
                            width,
                            op,
                            dst: reg(d),
                            src: Operand::Imm(imm),
                        };
                        regs_after(vec![insn], regs_with(d, a, d, a));
                    }
                }
            }
        }
    }
}

#[test]
fn atomics_with_r0_as_address_operand_and_comparand() {
    // The body puts `init` at fp-24, points `dst` at it, does the atomic,
    // then loads the slot into `dst` (an address must not reach the
    // compared registers: it differs between engines).
    for size in [Size::W, Size::DW] {
        for op in AtomicOp::ALL {
            // (dst == src would feed the address into the slot: engine-dependent.)
            for (d, s) in [(1u8, 2u8), (0, 2), (2, 0), (6, 4), (4, 0)] {
                for init in [0i32, -1, 0x5555_5555, 12345] {
                    let body = vec![
                        Insn::Store {
                            size: Size::DW,
                            dst: Reg::R10,
                            off: -24,
                            src: Operand::Imm(init),
                        },
                        Insn::mov64_reg(reg(d), Reg::R10),
                        Insn::Alu {
                            width: Width::W64,
                            op: AluOp::Add,
                            dst: reg(d),
                            src: Operand::Imm(-24),
                        },
                        Insn::Atomic {
                            size,
                            op,
                            dst: reg(d),
                            src: reg(s),
                            off: 0,
                        },
                        Insn::Load {
                            size: Size::DW,
                            signed: false,
                            dst: reg(d),
                            src: Reg::R10,
                            off: -24,
                        },
                    ];
                    let regs = regs_with(s, 0x0f0f_1234_ffff_0001, s, 0x0f0f_1234_ffff_0001);
                    let mut r2 = regs;
                    // An r0 equal to the slot's value makes cmpxchg succeed.
                    r2[0] = init as i64 as u64;
                    regs_after(body.clone(), regs);
                    if d != 0 {
                        regs_after(body, r2);
                    }
                }
            }
        }
    }
}

#[test]
fn byte_swaps_sign_extensions_and_sign_extending_loads() {
    let a = 0x8182_8384_8586_8788u64;
    for bits in [16u8, 32, 64] {
        for order in [
            isa::ByteOrder::ToLe,
            isa::ByteOrder::ToBe,
            isa::ByteOrder::Swap,
        ] {
            for d in [0u8, 4, 7] {
                let insn = Insn::Endian {
                    order,
                    dst: reg(d),
                    bits,
                };
                regs_after(vec![insn], regs_with(d, a, d, a));
            }
        }
    }
    for (width, bits) in [
        (Width::W64, 8),
        (Width::W64, 16),
        (Width::W64, 32),
        (Width::W32, 8),
        (Width::W32, 16),
    ] {
        for (d, s) in [(0u8, 1u8), (1, 2), (6, 6), (4, 7)] {
            let insn = Insn::MovSx {
                width,
                dst: reg(d),
                src: reg(s),
                bits,
            };
            regs_after(vec![insn], regs_with(d, a, s, a));
        }
    }
    // ldxs* from the stack.
    for size in [Size::B, Size::H, Size::W, Size::DW] {
        for signed in [false, true] {
            let body = vec![
                Insn::Store {
                    size: Size::DW,
                    dst: Reg::R10,
                    off: -24,
                    src: Operand::Reg(Reg::R3),
                },
                Insn::Load {
                    size,
                    signed,
                    dst: Reg::R2,
                    src: Reg::R10,
                    off: -24,
                },
            ];
            regs_after(body, regs_with(3, a, 3, a));
        }
    }
}

#[test]
fn long_and_short_branches_forward_and_back() {
    // A loop whose body is ~600 bytes (long backward jump) around a
    // forward jump over ~400 bytes, and short ones inside.
    let mut text = String::from("r0 = 0\nr1 = 3\nloop:\nif r1 == 2 goto skip\n");
    for _ in 0..100 {
        text.push_str("r0 += 1\n");
    }
    text.push_str("skip:\n");
    for _ in 0..50 {
        text.push_str("r0 += 2\n");
    }
    text.push_str("r1 -= 1\nif r1 != 0 goto loop\nexit\n");
    let (r, _) = agree(&asm(&text), &[]);
    assert_eq!(r, Ok(2 * 100 + 3 * 100));
}

#[test]
fn bpf_to_bpf_calls_keep_callee_saved_registers_and_frames() {
    let text = "
        r6 = 6
        r7 = 7
        r8 = 8
        r9 = 9
        *(u64 *)(r10 - 8) = r6
        r1 = 5
        call fact
        r0 += r6
        r0 += r7
        r0 += r8
        r0 += r9
        r1 = *(u64 *)(r10 - 8)
        r0 += r1
        exit
    fact:
        r6 = r1
        r7 = 0
        r8 = 0
        r9 = 0
        *(u64 *)(r10 - 8) = r1
        r0 = 1
        if r1 == 0 goto done
        r1 -= 1
        call fact
        r1 = *(u64 *)(r10 - 8)
        r0 *= r1
    done:
        exit
    ";
    let (r, _) = agree(&asm(text), &[]);
    assert_eq!(r, Ok(120 + 6 + 7 + 8 + 9 + 6));
}

/// Functions that save different registers (each saves only what it
/// writes, `rbp` only where it uses `r10`): the caller's r6–r9 and stack
/// survive, an `exit` in the middle of a function restores its own set, and
/// call depth is still counted in frames.
#[test]
fn functions_with_different_save_sets() {
    let text = "
        r6 = 6
        r7 = 7
        r8 = 8
        r9 = 9
        *(u64 *)(r10 - 8) = r9
        r1 = 3
        call only_r7
        r0 += r6
        r0 += r7
        r0 += r8
        r0 += r9
        r1 = *(u64 *)(r10 - 8)
        r0 += r1
        r8 = r0
        r1 = 0
        call only_r7
        r0 += r8
        r0 += r7
        exit
    only_r7:
        r7 = r1
        if r1 == 0 goto early
        call stack_and_r9
        r0 += r7
        exit
    early:
        r0 = 1000
        exit
    stack_and_r9:
        r9 = 900
        *(u64 *)(r10 - 16) = r9
        r0 = *(u64 *)(r10 - 16)
        exit
    ";
    let (r, _) = agree(&asm(text), &[]);
    assert_eq!(r, Ok((900 + 3) + 6 + 7 + 8 + 9 + 9 + 1000 + 7));
}

#[test]
fn call_depth_beyond_eight_frames_is_an_error() {
    // Recursion of depth n; 7 nested calls are allowed (8 frames).
    for n in [6, 7, 8, 20] {
        let text = format!(
            "
            r1 = {n}
            call rec
            exit
        rec:
            r0 = 0
            if r1 == 0 goto out
            r1 -= 1
            call rec
            r0 += 1
        out:
            exit
        "
        );
        let (r, _) = agree(&asm(&text), &[]);
        if n < 7 {
            assert_eq!(r, Ok(n));
        } else {
            assert!(r.unwrap_err().contains("call stack is too deep"));
        }
    }
}

/// `lddw r, <func>` then `callx r`, a bad target, and helpers by number.
#[test]
fn callx_to_subprograms_and_helpers() {
    // 0: r2 = <function at slot 6> (two slots); 2: r1 = 20; 3: callx;
    // 4: r0 += 1; 5: exit; 6: r0 = r1 * 2; exit
    let prog = |target_rel: i32, callx_reg: Reg| {
        vec![
            Insn::LoadImm64 {
                dst: Reg::R2,
                imm: LoadImm::Func { rel: target_rel },
            },
            Insn::mov64_imm(Reg::R1, 20),
            Insn::CallX {
                reg: callx_reg,
                encoding: isa::CallxEncoding::Dst,
            },
            Insn::Alu {
                width: Width::W64,
                op: AluOp::Add,
                dst: Reg::R0,
                src: Operand::Imm(1),
            },
            Insn::Exit,
            // 6: the subprogram
            Insn::mov64_reg(Reg::R0, Reg::R1),
            Insn::Alu {
                width: Width::W64,
                op: AluOp::Mul,
                dst: Reg::R0,
                src: Operand::Imm(2),
            },
            Insn::Exit,
        ]
    };
    let (r, _) = agree(&prog(5, Reg::R2), &[]);
    assert_eq!(r, Ok(41));
    // r1 = 20 is no subprogram address.
    let (r, _) = agree(&prog(5, Reg::R1), &[]);
    assert!(r.unwrap_err().contains("callx to 0x14"));
    // The value lddw loads is the interpreter's.
    let get = vec![
        Insn::LoadImm64 {
            dst: Reg::R0,
            imm: LoadImm::Func { rel: 1 },
        },
        Insn::Exit,
        Insn::Exit,
    ];
    assert_eq!(agree(&get, &[]).0, Ok(vm::subprog_addr(2)));
    // callx by helper number (the conformance convention).
    let mut helpers = HelperRegistry::new();
    helpers.register(HelperId(5), vm::helpers::conformance_unwind);
    let by_id = asm("r1 = 33\nr2 = 5\ncallx r2\nexit\n");
    assert_eq!(agree_with(&by_id, &[], &helpers, true).0, Ok(33));
    let missing = asm("r1 = 33\nr2 = 6\ncallx r2\nexit\n");
    assert!(agree_with(&missing, &[], &helpers, true).0.is_err());
}

/// # Safety
/// Reads no memory.
unsafe extern "C" fn faulty(r1: u64, _: u64, _: u64, _: u64, _: u64, env: &mut RunEnv<'_>) -> u64 {
    if r1 == 1 {
        env.fault(HelperFault::Other("asked to fail".into()));
    }
    r1 + 100
}

#[test]
fn a_helper_fault_stops_the_program_after_the_call() {
    let mut helpers = HelperRegistry::with_builtins();
    helpers.register(HelperId(1), faulty);
    let prog = |arg: u64| asm(&format!("r1 = {arg}\ncall 1\nr0 += 1\nexit\n"));
    assert_eq!(agree_with(&prog(5), &[], &helpers, false).0, Ok(106));
    let r = agree_with(&prog(1), &[], &helpers, false).0;
    assert_eq!(
        r,
        Err("insn 1: bpf_map_lookup_elem#1: asked to fail".into())
    );
}

#[test]
fn helpers_see_the_environment() {
    let mut env = RunEnv::new();
    env.set_worker(7);
    let helpers = HelperRegistry::with_builtins();
    let insns = asm("call 8\nr0 *= 3\nexit\n");
    let opts = oxbpf_jit::CompileOptions::new(vm::PrepareOptions::new(&helpers));
    // SAFETY: no memory access.
    let p = unsafe { oxbpf_jit::JitProgram::compile_trusted(&insns, &opts) }.unwrap();
    assert_eq!(p.run(&mut env, &[]), Ok(21));
}

fn ld_packet(mode: PacketMode, size: Size, imm: i32) -> Insn {
    Insn::LoadPacket { mode, size, imm }
}

#[test]
fn legacy_packet_loads_in_and_out_of_bounds() {
    let mem: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
    let net = uapi::ctx::skf::SKF_NET_OFF;
    let ll = uapi::ctx::skf::SKF_LL_OFF;
    for size in [Size::B, Size::H, Size::W] {
        for k in [
            0,
            1,
            12,
            60,
            61,
            62,
            63,
            64,
            65,
            -1,
            i32::MAX,
            i32::MIN,
            net,
            net + 2,
            ll + 5,
            net - 1,
        ] {
            let abs = vec![
                Insn::mov64_imm(Reg::R0, 99),
                ld_packet(PacketMode::Abs, size, k),
                Insn::Exit,
            ];
            let _ = agree(&abs, &mem);
            for ind in [0i64, 3, -3, 0x1_0000_0003, -0x7fff_ffff] {
                let prog = vec![
                    Insn::LoadImm64 {
                        dst: Reg::R7,
                        imm: LoadImm::Imm(ind as u64),
                    },
                    // r1-r5 must survive a slow path.
                    Insn::mov64_imm(Reg::R3, 3),
                    ld_packet(PacketMode::Ind(Reg::R7), size, k),
                    Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Add,
                        dst: Reg::R0,
                        src: Operand::Reg(Reg::R3),
                    },
                    Insn::Exit,
                ];
                let _ = agree(&prog, &mem);
            }
        }
    }
    // Out of bounds inside a subprogram ends the whole program with 0.
    let text = "r6 = r1\nr7 = 5\ncall f\nr0 += 1000\nexit\nf:\nr0 = *(u8 *)skb[100]\nexit\n";
    assert_eq!(agree(&asm(text), &mem).0, Ok(0));
    // No packet at all.
    let _ = agree(&[ld_packet(PacketMode::Abs, Size::B, 0), Insn::Exit], &[]);
}

#[test]
fn blinding_keeps_immediates_out_of_the_code() {
    let helpers = HelperRegistry::with_builtins();
    let insns = asm("r0 = 0x12345678\nr0 += 0x7eadbeef\nif r0 == 0x11223344 goto +0\nexit\n");
    let mut opts = oxbpf_jit::CompileOptions::new(vm::PrepareOptions::new(&helpers));
    let has = |code: &[u8], v: u32| code.windows(4).any(|w| w == v.to_le_bytes());
    // SAFETY: no memory access.
    let plain = unsafe { oxbpf_jit::JitProgram::compile_trusted(&insns, &opts) }.unwrap();
    assert!(has(plain.code(), 0x1234_5678) && has(plain.code(), 0x7ead_beef));
    opts.blind_constants = true;
    // SAFETY: as above.
    let blind = unsafe { oxbpf_jit::JitProgram::compile_trusted(&insns, &opts) }.unwrap();
    for v in [0x1234_5678, 0x7ead_beef, 0x1122_3344] {
        assert!(!has(blind.code(), v), "{v:#x} in blinded code");
    }
    assert_eq!(blind.run_on_memory(&mut []), plain.run_on_memory(&mut []));
}

#[test]
fn the_same_errors_as_the_interpreter_at_compile_time() {
    let helpers = HelperRegistry::new();
    let opts = oxbpf_jit::CompileOptions::new(vm::PrepareOptions::new(&helpers));
    let cases: Vec<Vec<Insn>> = vec![
        vec![],
        vec![Insn::mov64_imm(Reg::R0, 0)],
        vec![Insn::Call(CallTarget::Helper(1)), Insn::Exit],
        vec![
            Insn::Ja {
                off: 5,
                long: false,
            },
            Insn::Exit,
        ],
        vec![
            Insn::LoadImm64 {
                dst: Reg::R1,
                imm: LoadImm::MapFd(3),
            },
            Insn::Exit,
        ],
        vec![
            Insn::Call(CallTarget::Kfunc {
                btf_id: 1,
                module: 0,
            }),
            Insn::Exit,
        ],
    ];
    for insns in cases {
        let want = vm::Program::prepare(&insns, &opts.prepare)
            .unwrap_err()
            .to_string();
        // SAFETY: refused before anything runs.
        let got = unsafe { oxbpf_jit::JitProgram::compile_trusted(&insns, &opts) }.unwrap_err();
        assert_eq!(got.to_string(), want);
    }
}

/// A prog array of one program for each engine, at index 0.
struct Array {
    interp: std::sync::Arc<vm::Program>,
    jit: std::sync::Arc<oxbpf_jit::JitProgram>,
}

impl vm::TailCallHook for Array {
    fn lookup(&self, _: u64, index: u32) -> Option<std::sync::Arc<vm::Program>> {
        (index == 0).then(|| self.interp.clone())
    }
}

impl oxbpf_jit::TailCalls for Array {
    fn lookup(&self, _: u64, index: u32) -> Option<std::sync::Arc<oxbpf_jit::JitProgram>> {
        (index == 0).then(|| self.jit.clone())
    }
}

/// Runs `main` with `target` at index 0 of the prog array, r1 = an 8-byte
/// counter; returns (r0 or error, counter) per engine.
fn tail_run(main: &str, target: &str) -> [(Result<u64, String>, u64); 2] {
    let helpers = HelperRegistry::with_builtins();
    let prep = vm::PrepareOptions::new(&helpers);
    let opts = oxbpf_jit::CompileOptions::new(prep);
    let (main, target) = (asm(main), asm(target));
    // SAFETY: the programs only touch their 8-byte counter and the stack.
    let jit = |i: &[Insn]| unsafe { oxbpf_jit::JitProgram::compile_trusted(i, &opts) }.unwrap();
    let array = Array {
        interp: std::sync::Arc::new(vm::Program::prepare(&target, &prep).unwrap()),
        jit: std::sync::Arc::new(jit(&target)),
    };
    let mut out = [(Ok(0), 0), (Ok(0), 0)];
    for (engine, slot) in out.iter_mut().enumerate() {
        let mut counter = [0u8; 8];
        let mut env = RunEnv::new();
        let addr = env.add_region(&mut counter, vm::RegionKind::Context);
        let r = if engine == 0 {
            env.set_tail_calls(&array);
            let p = vm::Program::prepare(&main, &prep).unwrap();
            vm::Machine::new().run(&p, &mut env, &[addr])
        } else {
            jit(&main).run_with_tail_calls(&mut env, &[addr], Some(&array))
        };
        drop(env);
        *slot = (r.map_err(|e| e.to_string()), u64::from_le_bytes(counter));
    }
    out
}

#[test]
fn tail_calls_chain_up_to_the_kernel_limit() {
    let counting = "
        r6 = r1
        r0 = *(u64 *)(r6 + 0)
        r0 += 1
        *(u64 *)(r6 + 0) = r0
        r1 = r6
        r2 = 0
        r3 = 0
        call 12
        r0 = *(u64 *)(r6 + 0)
        r0 += 1000
        exit
    ";
    let [interp, jit] = tail_run(counting, counting);
    assert_eq!(interp, (Ok(1034), 34));
    assert_eq!(jit, interp);
    // A failed tail call (no program at index 3) goes on with r0-r5 kept.
    let failing = "r0 = 5\nr4 = 7\nr2 = 0\nr3 = 3\ncall 12\nr0 += r4\nexit\n";
    let [interp, jit] = tail_run(failing, "r0 = 1\nexit\n");
    assert_eq!(interp.0, Ok(12));
    assert_eq!(jit, interp);
    // The target replaces the caller: its r0 is the result.
    let once = "r6 = 9\nr2 = 0\nr3 = 0\ncall 12\nr0 = 1\nexit\n";
    let [interp, jit] = tail_run(once, "r0 = 42\nexit\n");
    assert_eq!(interp.0, Ok(42));
    assert_eq!(jit, interp);
    // From a bpf-to-bpf callee: the target runs in the callee's place, as
    // Linux does (its exit returns to the caller).
    let nested = "call f\nr0 += 1\nexit\nf:\nr2 = 0\nr3 = 0\ncall 12\nexit\n";
    let [interp, jit] = tail_run(nested, "r0 = 42\nexit\n");
    assert_eq!(interp.0, Ok(43));
    assert_eq!(jit, interp);
}

#[test]
fn tail_calls_from_callees_keep_the_callers_registers() {
    // The caller keeps values in r6-r9 and its frame pointer across a call
    // whose callee tail-calls a program that writes all of them (and uses
    // its own stack): they must be the caller's again after the call.
    let main = "
        r6 = 11
        r7 = 22
        r8 = 33
        r9 = 44
        *(u64 *)(r10 - 8) = r9
        call f
        r0 *= 100000
        r6 += r7
        r6 += r8
        r6 += r9
        r0 += r6
        r1 = *(u64 *)(r10 - 8)
        r0 += r1
        exit
    f:
        r6 = r1
        r2 = 0
        r3 = 0
        call 12
        r0 = 5
        exit
    ";
    // (A helper call makes the target's single function save nothing
    // itself: the entry trampoline would.)
    let target = "
        call 5
        r6 = 1
        r7 = 2
        r8 = 3
        r9 = 4
        *(u64 *)(r10 - 8) = r9
        r0 = *(u64 *)(r10 - 8)
        exit
    ";
    let [interp, jit] = tail_run(main, target);
    assert_eq!(interp.0, Ok(4 * 100_000 + 110 + 44));
    assert_eq!(jit, interp);
    // The same with a target of several functions whose callee tail-calls
    // it again, three times (each time one frame deeper: the target's
    // function 0 replaces the callee and calls it again), counting in r1's
    // memory.
    let target = "
        r6 = r1
        r7 = 7
        call g
        r0 += r7
        exit
    g:
        r8 = 9
        r0 = *(u64 *)(r6 + 0)
        r0 += 1
        *(u64 *)(r6 + 0) = r0
        if r0 > 3 goto +4
        r1 = r6
        r2 = 0
        r3 = 0
        call 12
        r0 = r8
        exit
    ";
    let main = main.replace("    f:\n        r6 = r1\n", "    f:\n");
    let [interp, jit] = tail_run(&main, target);
    // 9 from the innermost callee, plus 7 in each of the four targets.
    assert_eq!(interp, (Ok(37 * 100_000 + 110 + 44), 4));
    assert_eq!(jit, interp);
}

#[test]
fn errors_inside_a_tail_called_program_unwind_to_the_first_entry() {
    // The main program saves every host register (it tail-calls); the
    // target saves fewer. An error in the target must unwind to where the
    // run entered machine code, restoring what the main entry saved.
    let main = "
        r6 = 1
        r7 = 2
        r8 = 3
        r9 = 4
        r2 = 0
        r3 = 0
        call 12
        r0 = 1
        exit
    ";
    let target = "r0 = 0\nr1 = 5\ncallx r1\nexit\n";
    let [interp, jit] = tail_run(main, target);
    assert!(
        interp.0.as_ref().unwrap_err().contains("not a subprogram"),
        "{interp:?}"
    );
    assert_eq!(jit, interp);
    // And again after a run that went fine, on the same thread.
    let [interp, jit] = tail_run(main, "r0 = 7\nexit\n");
    assert_eq!(interp.0, Ok(7));
    assert_eq!(jit, interp);
    // The same from a target that replaced a bpf-to-bpf callee (its return
    // address is the deep-return stub, never reached).
    let main = "
        r6 = 1
        r7 = 2
        call f
        r0 += r6
        exit
    f:
        r8 = 3
        r9 = 4
        r2 = 0
        r3 = 0
        call 12
        r0 = 1
        exit
    ";
    for _ in 0..3 {
        let [interp, jit] = tail_run(main, target);
        assert!(
            interp.0.as_ref().unwrap_err().contains("not a subprogram"),
            "{interp:?}"
        );
        assert_eq!(jit, interp);
        let [interp, jit] = tail_run(main, "call 5\nr6 = 9\nr0 = 7\nexit\n");
        assert_eq!(interp.0, Ok(8));
        assert_eq!(jit, interp);
    }
}

#[test]
fn tail_calls_from_callbacks_are_refused() {
    let main = "
        r6 = r1
        r1 = 3
        r2 = 0
        r3 = 0
        r4 = 0
        ld_pseudo r2, 4, 3
        call 181
        exit
        r2 = 0
        r3 = 0
        call 12
        r0 = 0
        exit
    ";
    let [interp, jit] = tail_run(main, "r0 = 42\nexit\n");
    assert!(
        interp
            .0
            .as_ref()
            .unwrap_err()
            .contains("tail call from a callback"),
        "{interp:?}"
    );
    assert_eq!(jit, interp);
}

/// 64-bit unsigned division and modulo around the 32-bit fast path's
/// boundary: both operands below 2^32 take `div r32`, anything wider the
/// 64-bit `div`; r0 and r3 (rax, rdx) must survive either way when live.
#[test]
fn unsigned_division_on_both_sides_of_2_pow_32() {
    let values: [u64; 9] = [
        1,
        7,
        0xffff_fffe,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0x1234_5678_9abc,
        u64::MAX - 1,
        u64::MAX,
    ];
    for &a in &values {
        for &b in &values {
            for (op, want) in [("/=", a / b), ("%=", a % b)] {
                // r6 = a op b, with r0 and r3 live across the division.
                let text = format!(
                    "r0 = 11\nr3 = 33\nr6 = {a} ll\nr7 = {b} ll\nr6 {op} r7\n\
                     if r0 != 11 goto bad\nif r3 != 33 goto bad\nr0 = r6\nexit\nbad:\nr0 = 0xbad\nexit\n"
                );
                let (r, _) = agree(&asm(&text), &[]);
                assert_eq!(r, Ok(want), "{a:#x} {op} {b:#x}");
                // The destination in rax and rdx themselves.
                for dst in ["r0", "r3"] {
                    let text =
                        format!("{dst} = {a} ll\nr7 = {b} ll\n{dst} {op} r7\nr0 = {dst}\nexit\n");
                    let (r, _) = agree(&asm(&text), &[]);
                    assert_eq!(r, Ok(want), "{dst}: {a:#x} {op} {b:#x}");
                }
                // Divisors in rdx and rax, which the division overwrites.
                for (dst, src) in [("r0", "r3"), ("r3", "r0"), ("r1", "r0")] {
                    let text = format!(
                        "{dst} = {a} ll\n{src} = {b} ll\n{dst} {op} {src}\nr0 = {dst}\nexit\n"
                    );
                    let (r, _) = agree(&asm(&text), &[]);
                    assert_eq!(r, Ok(want), "{dst} {op} {src}: {a:#x} {op} {b:#x}");
                }
            }
        }
    }
}
