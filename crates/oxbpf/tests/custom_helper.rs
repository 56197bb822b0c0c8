//! The embedding API's own helpers: registered with a prototype, checked by
//! the verifier like the kernel's, called by number.

use oxbpf::{ArgType, Error, HelperProto, LoadOptions, ProgType, ProgramDef, RetType, Runtime};

const SUM_BYTES: u32 = 0x10000;

/// `u64 sum_bytes(const void *mem, u32 size)`: the sum of the bytes.
///
/// # Safety
/// The helper contract: `mem` is `size` readable bytes in unchecked runs,
/// which the verifier proved from the prototype.
unsafe extern "C" fn sum_bytes(
    mem: u64,
    size: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut oxbpf::RunEnv<'_>,
) -> u64 {
    let mut buf = vec![0u8; size as usize];
    match env.read_bytes(mem, &mut buf) {
        Ok(()) => buf.iter().map(|&b| u64::from(b)).sum(),
        Err(f) => {
            env.fault(f);
            0
        }
    }
}

fn runtime() -> Runtime {
    let rt = Runtime::new();
    rt.register_helper(
        HelperProto::new(
            SUM_BYTES,
            RetType::Integer,
            &[
                ArgType::Mem {
                    rdonly: true,
                    uninit: false,
                    null: false,
                },
                ArgType::ConstSize { zero_ok: false },
            ],
        ),
        sum_bytes,
    );
    rt
}

fn load(rt: &Runtime, text: &str) -> oxbpf::Result<oxbpf::Program> {
    let insns = isa::asm::assemble(text, isa::asm::Syntax::Llvm).expect("assemble");
    rt.load_program(
        ProgramDef {
            name: "custom",
            prog_type: ProgType::Kprobe,
            expected_attach_type: None,
            insns: &insns,
            maps: &[],
            license: "GPL",
        },
        &LoadOptions {
            log_level: 1,
            ..Default::default()
        },
    )
}

#[test]
fn a_registered_helper_is_verified_and_called() {
    let rt = runtime();
    let prog = load(
        &rt,
        "r1 = 0x0403020100000000 ll
         *(u64 *)(r10 - 8) = r1
         r1 = r10
         r1 += -8
         r2 = 8
         call 65536
         exit",
    )
    .expect("the verifier accepts a call matching the prototype");
    let mut ctx = [0u8; 168];
    assert_eq!(prog.run_raw(&mut ctx).expect("run"), 1 + 2 + 3 + 4);
}

#[test]
fn calls_against_the_prototype_are_refused() {
    let rt = runtime();
    // A scalar where the prototype wants memory.
    let err = load(&rt, "r1 = 5\nr2 = 8\ncall 65536\nexit").expect_err("refused");
    let Error::Verify { message, pc, .. } = &err else {
        panic!("not a verifier error: {err}");
    };
    assert_eq!(*pc, Some(2), "{err}");
    assert!(message.starts_with("R1 type=scalar expected="), "{message}");
    // Reading past the stack through the size argument.
    let err = load(&rt, "r1 = r10\nr1 += -8\nr2 = 16\ncall 65536\nexit").expect_err("refused");
    assert!(matches!(err, Error::Verify { .. }), "{err}");
}

#[test]
fn unregistered_numbers_are_refused_by_name() {
    let rt = Runtime::new();
    let err = load(&rt, "call 65536\nexit").expect_err("refused");
    assert!(
        err.to_string().contains("invalid func unknown#65536"),
        "{err}"
    );
}
