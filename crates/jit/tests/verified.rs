//! The safe constructor for verified programs and the `bpftool prog dump
//! jited` rendering.

use isa::{Insn, RawInsn};
use oxbpf_jit::{dump_jited, CompileOptions, JitProgram};
use uapi::ProgType;
use vm::{HelperRegistry, PrepareOptions, RunEnv};

fn raw(text: &str) -> Vec<RawInsn> {
    isa::asm::assemble(text, isa::asm::Syntax::Llvm).expect("assembles")
}

const SUM: &str = "r1 = 0
     r2 = 0
   loop:
     r2 += r1
     r1 += 1
     if r1 < 10 goto loop
     *(u64 *)(r10 - 8) = r2
     r0 = *(u64 *)(r10 - 8)
     exit";

#[test]
fn compile_verified_runs_without_unsafe() {
    let insns = raw(SUM);
    let verified = verifier::verify(&verifier::Request::new(&insns, ProgType::SocketFilter))
        .expect("the verifier accepts it");
    let helpers = HelperRegistry::with_builtins();
    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
    let jit = JitProgram::compile_verified(&verified, &opts).expect("compiles");
    let mut env = RunEnv::new();
    assert_eq!(jit.run(&mut env, &[0]), Ok(45));
    // The interpreter's safe counterpart agrees.
    let prog = vm::Program::from_verified(&verified, &opts.prepare).expect("prepares");
    assert_eq!(prog.mode(), vm::ExecMode::Unchecked);
    let mut env = RunEnv::new();
    assert_eq!(vm::Machine::new().run(&prog, &mut env, &[0]), Ok(45));
}

#[test]
fn compile_verified_reports_unresolvable_maps() {
    // A map fd the verifier knew but no resolver can resolve: a typed
    // preparation error, not a crash.
    let insns = raw("ld_pseudo r1, 1, 7\n r0 = 0\n exit");
    let mut req = verifier::Request::new(&insns, ProgType::SocketFilter);
    req.maps
        .insert(7, verifier::MapMeta::new(uapi::MapType::Array, 4, 8, 1));
    let verified = verifier::verify(&req).expect("the verifier accepts it");
    let helpers = HelperRegistry::with_builtins();
    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
    let err = JitProgram::compile_verified(&verified, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            oxbpf_jit::CompileError::Prepare(vm::PrepareError::Unresolved { pc: 0, .. })
        ),
        "{err:?}"
    );
}

/// `jmp` back to 0x10 and a `ret`, decoded at a kernel-like address.
#[test]
fn dump_jited_prints_as_bpftool() {
    // push %rbp; mov %rsp,%rbp; mov -0x8(%rbp),%rax; nopl 0x0(%rax,%rax,1);
    // mov (%r10,%r11,4),%eax; jmp to the start; pop %rbp; ret
    let code = [
        0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x45, 0xf8, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x43, 0x8b,
        0x04, 0x9a, 0xeb, 0xed, 0x5d, 0xc3,
    ];
    let base = 0xffff_ffff_c000_1000;
    let plain = dump_jited(&code, base, false);
    assert_eq!(
        plain,
        concat!(
            "   0:\tpush   %rbp\n",
            "   1:\tmov    %rsp,%rbp\n",
            "   4:\tmov    -0x8(%rbp),%rax\n",
            "   8:\tnopl   0x0(%rax,%rax,1)\n",
            "   d:\tmov    (%r10,%r11,4),%eax\n",
            "  11:\tjmp    0xffffffffc0001000\n",
            "  13:\tpop    %rbp\n",
            "  14:\tret\n",
        )
    );
    let with_bytes = dump_jited(&code, base, true);
    assert!(
        with_bytes.starts_with("   0:\tpush   %rbp\n\t55 \n   1:\tmov    %rsp,%rbp\n\t48 89 e5 \n")
    );
    assert!(with_bytes.ends_with("  14:\tret\n\tc3 \n"));
}

#[test]
fn program_dump_uses_its_address() {
    let insns: Vec<Insn> =
        isa::asm::assemble_insns("r0 = 1\n exit", isa::asm::Syntax::Llvm).unwrap();
    let helpers = HelperRegistry::new();
    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
    // SAFETY: touches no memory and terminates.
    let jit = unsafe { JitProgram::compile_trusted(&insns, &opts) }.unwrap();
    let dump = jit.dump_jited(false);
    assert!(dump.starts_with("   0:\t"), "{dump}");
    assert!(dump.trim_end().ends_with("ret"), "{dump}");
    assert_eq!(
        dump.lines().count(),
        jit.dump_jited(true).lines().count() / 2
    );
}

#[test]
fn verified_bpf_loop_runs_on_both_engines() {
    // r0 = bpf_loop(5, cb, &sum, 0) * 100 + sum, sum = 0 + 1 + 2 + 3 + 4.
    let insns = raw("r1 = 0
         *(u64 *)(r10 - 8) = r1
         r1 = 5
         ld_pseudo r2, 4, 9
         r3 = r10
         r3 += -8
         r4 = 0
         call 181
         r0 *= 100
         r1 = *(u64 *)(r10 - 8)
         r0 += r1
         exit
         r3 = *(u64 *)(r2 + 0)
         r3 += r1
         *(u64 *)(r2 + 0) = r3
         r0 = 0
         exit");
    let mut req = verifier::Request::new(&insns, ProgType::SocketFilter);
    req.func_info = vec![
        verifier::FuncInfo {
            insn_off: 0,
            name: "main".into(),
        },
        verifier::FuncInfo {
            insn_off: 13,
            name: "cb".into(),
        },
    ];
    let verified = match verifier::verify(&req) {
        Ok(v) => v,
        Err(e) => panic!("the verifier refused it: {e}"),
    };
    let helpers = HelperRegistry::with_builtins();
    let opts = CompileOptions::new(PrepareOptions::new(&helpers));
    let jit = JitProgram::compile_verified(&verified, &opts).expect("compiles");
    assert_eq!(jit.run(&mut RunEnv::new(), &[0]), Ok(510));
    let prog = vm::Program::from_verified(&verified, &opts.prepare).expect("prepares");
    assert_eq!(
        vm::Machine::new().run(&prog, &mut RunEnv::new(), &[0]),
        Ok(510)
    );
}
