//! Random programs in checked mode: whatever they do — wild pointers, jumps
//! anywhere, endless loops, deep recursion, calls through garbage — a run
//! ends with `Ok` or a located `Err`, never a panic, a hang or a write
//! outside the regions (the canaries around the memory stay intact).

use super::*;
use crate::RegionKind;
use isa::RawInsn;

/// A random instruction that decodes, biased towards what makes programs do
/// something: small offsets, registers r0–r10, sizes and ops from the ISA.
fn random_insn(rng: &mut Rng, pc: usize, len: usize) -> Vec<RawInsn> {
    loop {
        let code = rng.next() as u8;
        let dst = (rng.next() % 11) as u8;
        let src = (rng.next() % 11) as u8;
        // Jumps stay mostly inside the program, memory offsets near 0.
        let off = match rng.next() % 4 {
            0 => (rng.next() % len as u64) as i16 - pc as i16 - 1,
            1 => -((rng.next() % 64) as i16) * 8,
            2 => (rng.next() % 16) as i16,
            _ => rng.next() as i16,
        };
        let imm = match rng.next() % 4 {
            0 => (rng.next() % 64) as i32,
            1 => (rng.next() % len as u64) as i32 - pc as i32 - 1,
            2 => [1, 4, 5, 7, 8, 12, 16, 32, 64, 0xe1, 0xf1, 0x01, 0x41][rng.next() as usize % 13],
            _ => rng.next() as i32,
        };
        let slots = [
            RawInsn::new(code, dst, src, off, imm),
            RawInsn::new(0, 0, 0, 0, rng.next() as i32),
        ];
        let Ok(insn) = Insn::decode(&slots, 0) else {
            continue;
        };
        // Keep branch targets inside the program (preparation refuses the
        // rest, which would waste the case) and helper calls on helpers that
        // exist (12 is the tail call).
        if insn
            .branch_target(pc)
            .is_some_and(|t| t < 0 || t >= len as i64)
        {
            continue;
        }
        if let Insn::Call(isa::CallTarget::Helper(_)) = insn {
            let id = [5, 7, 8, 12][rng.next() as usize % 4];
            return vec![RawInsn::new(0x85, 0, 0, 0, id)];
        }
        return slots[..insn.slots()].to_vec();
    }
}

#[test]
fn random_programs_never_panic_hang_or_escape() {
    let helpers = HelperRegistry::with_builtins();
    let opts = PrepareOptions {
        callx_helper_ids: true,
        ..PrepareOptions::new(&helpers)
    };
    let mut rng = Rng(0xf00d);
    let (mut ran, mut ok, mut failed) = (0, 0, 0);
    for _ in 0..4000 {
        let len = 4 + (rng.next() % 28) as usize;
        let mut raw = Vec::new();
        while raw.len() < len - 1 {
            let at = raw.len();
            raw.extend(random_insn(&mut rng, at, len));
        }
        raw.push(RawInsn::new(0x95, 0, 0, 0, 0)); // exit
        let prog = match Program::from_raw(&raw, &opts) {
            Ok(p) => p,
            Err(e) => {
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    eprintln!("{e}");
                }
                continue; // refused at preparation: fine too
            }
        };
        // 64 bytes of memory between two 64-byte canaries.
        let mut buf = [0xa5u8; 192];
        let (lo, rest) = buf.split_at_mut(64);
        let (mem, hi) = rest.split_at_mut(64);
        let mut env = RunEnv::new();
        let addr = env.add_region(mem, RegionKind::Context);
        let mut vm = Machine::new();
        vm.set_budget(10_000);
        match vm.run(&prog, &mut env, &[addr, 64]) {
            Ok(_) => ok += 1,
            Err(e) => {
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    eprintln!("run: {e}");
                }
                assert!(e.pc().is_some_and(|pc| pc < raw.len()), "{e}");
                failed += 1;
            }
        }
        assert!(vm.executed() <= 10_000 + raw.len() as u64);
        drop(env);
        assert!(
            lo.iter().chain(hi.iter()).all(|&b| b == 0xa5),
            "canary overwritten"
        );
        ran += 1;
    }
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("ran {ran}, ok {ok}, failed {failed}");
    }
    assert!(
        ran > 1000 && ok > 100 && failed > 100,
        "ran {ran}, ok {ok}, failed {failed}"
    );
}
