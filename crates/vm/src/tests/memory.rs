//! Loads, stores, atomics (also under two threads), legacy packet loads,
//! and the checked mode's refusals.

use super::*;
use crate::memory::{Region, RegionKind};
use crate::{AccessKind, PacketView};
use isa::{AtomicOp, PacketMode};
use std::sync::atomic::{AtomicU64, Ordering};

fn atomic(size: Size, op: AtomicOp, d: u8, off: i16, s: u8) -> Insn {
    Insn::Atomic {
        size,
        op,
        dst: r(d),
        src: r(s),
        off,
    }
}

#[test]
fn loads_and_stores_every_size_and_sign_extension() {
    let mut mem = [0x81u8, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88];
    let load = |size, signed| {
        let l = Insn::Load {
            size,
            signed,
            dst: r(0),
            src: r(1),
            off: 0,
        };
        run_mem(&[l, EXIT], &mut mem.clone()).unwrap()
    };
    assert_eq!(load(Size::B, false), 0x81);
    assert_eq!(load(Size::H, false), 0x8281);
    assert_eq!(load(Size::W, false), 0x8483_8281);
    assert_eq!(load(Size::DW, false), 0x8887_8685_8483_8281);
    assert_eq!(load(Size::B, true), 0xffff_ffff_ffff_ff81);
    assert_eq!(load(Size::H, true), 0xffff_ffff_ffff_8281);
    assert_eq!(load(Size::W, true), 0xffff_ffff_8483_8281);
    // st with an immediate: truncated, and sign-extended for DW.
    let st = |size, off, imm| Insn::Store {
        size,
        dst: r(1),
        off,
        src: Operand::Imm(imm),
    };
    let prog = [
        st(Size::DW, 0, -2),
        st(Size::B, 0, 0x1ff),
        ldx(Size::DW, 0, 1, 0),
        EXIT,
    ];
    assert_eq!(run_mem(&prog, &mut mem).unwrap(), 0xffff_ffff_ffff_ffff);
    assert_eq!(mem, [0xff; 8]);
    // Unaligned accesses are fine.
    let mut buf = [0u8; 12];
    let prog = [
        lddw(2, 0x1122_3344_5566_7788),
        stx(Size::DW, 1, 3, 2),
        ldx(Size::W, 0, 1, 5),
        EXIT,
    ];
    assert_eq!(run_mem(&prog, &mut buf).unwrap(), 0x3344_5566);
}

#[test]
fn every_atomic_op_both_sizes() {
    let cases: &[(AtomicOp, u64, u64, u64, u64)] = &[
        // (op, memory before, src, memory after, fetched)
        (AtomicOp::Add { fetch: true }, 10, 5, 15, 10),
        (AtomicOp::Or { fetch: true }, 0b1010, 0b0110, 0b1110, 0b1010),
        (
            AtomicOp::And { fetch: true },
            0b1010,
            0b0110,
            0b0010,
            0b1010,
        ),
        (
            AtomicOp::Xor { fetch: true },
            0b1010,
            0b0110,
            0b1100,
            0b1010,
        ),
        (AtomicOp::Xchg, 7, 9, 9, 7),
    ];
    for &(op, before, src, after, fetched) in cases {
        for size in [Size::DW, Size::W] {
            let hi = if size == Size::DW {
                0xaaaa_0000_0000_0000
            } else {
                0
            };
            let mut mem = (before | hi).to_le_bytes();
            let prog = [
                lddw(2, src | 0xbbbb_0000_0000_0000),
                atomic(size, op, 1, 0, 2),
                movr(0, 2),
                EXIT,
            ];
            let got = run_mem(&prog, &mut mem).unwrap();
            // 32-bit fetches zero-extend; the upper memory half is untouched.
            let want_mem = if size == Size::DW {
                let s = src | 0xbbbb_0000_0000_0000;
                match op {
                    AtomicOp::Add { .. } => (before | hi).wrapping_add(s),
                    AtomicOp::Or { .. } => (before | hi) | s,
                    AtomicOp::And { .. } => (before | hi) & s,
                    AtomicOp::Xor { .. } => (before | hi) ^ s,
                    _ => s,
                }
            } else {
                after
            };
            assert_eq!(u64::from_le_bytes(mem), want_mem, "{op:?} {size:?} memory");
            assert_eq!(got, fetched | hi, "{op:?} {size:?} fetched");
            // Without fetch the source register is unchanged.
            if let AtomicOp::Add { .. } = op {
                let mut mem = before.to_le_bytes();
                let prog = [
                    mov(2, src as i32),
                    atomic(size, AtomicOp::Add { fetch: false }, 1, 0, 2),
                    movr(0, 2),
                    EXIT,
                ];
                assert_eq!(run_mem(&prog, &mut mem).unwrap(), src);
                assert_eq!(u64::from_le_bytes(mem), after);
            }
        }
    }
}

#[test]
fn cmpxchg_compares_with_r0_and_returns_old_in_r0() {
    for size in [Size::DW, Size::W] {
        // Match: memory takes src, r0 = old.
        let mut mem = 5u64.to_le_bytes();
        let prog = [
            mov(0, 5),
            mov(2, 9),
            atomic(size, AtomicOp::Cmpxchg, 1, 0, 2),
            EXIT,
        ];
        assert_eq!(run_mem(&prog, &mut mem).unwrap(), 5);
        assert_eq!(u64::from_le_bytes(mem), 9);
        // Mismatch: memory unchanged, r0 = current value.
        let mut mem = 6u64.to_le_bytes();
        assert_eq!(run_mem(&prog, &mut mem).unwrap(), 6);
        assert_eq!(u64::from_le_bytes(mem), 6);
    }
    // 32-bit: only the low half of r0 is compared; r0 comes back zero-extended.
    let mut mem = 5u64.to_le_bytes();
    let prog = [
        lddw(0, 0xffff_0000_0000_0005),
        mov(2, 9),
        atomic(Size::W, AtomicOp::Cmpxchg, 1, 0, 2),
        EXIT,
    ];
    assert_eq!(run_mem(&prog, &mut mem).unwrap(), 5);
    assert_eq!(u64::from_le_bytes(mem), 9);
}

/// Two threads, each with its own machine and environment, hammer the same
/// words with `lock add` (64 and 32 bits) and a `cmpxchg` retry loop: no
/// update may be lost.
#[test]
fn atomics_under_two_threads() {
    const N: i32 = 20_000;
    let words: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
    #[rustfmt::skip]
    let insns = [
        mov(2, 1),
        mov(3, 0),
        // loop (slot 2):
        atomic(Size::DW, AtomicOp::Add { fetch: false }, 1, 0, 2),
        atomic(Size::W, AtomicOp::Add { fetch: true }, 1, 8, 2),
        mov(2, 1),
        // cmpxchg increment of word 2, retried until it wins
        ldx(Size::DW, 5, 1, 16),        // 5
        movr(0, 5),
        movr(4, 5),
        alu64(AluOp::Add, 4, 1),
        atomic(Size::DW, AtomicOp::Cmpxchg, 1, 16, 4),
        jmpr(JmpCond::Ne, 0, 5, -6),    // 10 → 5
        alu64(AluOp::Add, 3, 1),
        jmp(JmpCond::Lt, 3, N, -11),    // 12 → 2
        mov(0, 0),
        EXIT,
    ];
    let program = prog(&insns);
    let region = Region {
        start: words.as_ptr().expose_provenance() as u64,
        len: 24,
        writable: true,
        kind: RegionKind::MapValue,
    };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut env = RunEnv::new();
                // SAFETY: `words` outlives the scope, its address is exposed
                // above, and every other access to it is atomic.
                unsafe { env.add_raw_region(region) };
                let mut vm = Machine::new();
                assert_eq!(vm.run(&program, &mut env, &[region.start]).unwrap(), 0);
            });
        }
    });
    let n = 2 * N as u64;
    assert_eq!(words[0].load(Ordering::SeqCst), n);
    assert_eq!(words[1].load(Ordering::SeqCst) & 0xffff_ffff, n);
    assert_eq!(words[2].load(Ordering::SeqCst), n);
}

#[test]
fn checked_mode_reports_out_of_region_accesses() {
    let mut mem = [0u8; 8];
    // Read past the end of the memory: pc, address, size named.
    let err = run_mem(&[ldx(Size::W, 0, 1, 6), EXIT], &mut mem).unwrap_err();
    let VmError::MemoryAccess {
        pc: 0,
        addr,
        size: 4,
        access: AccessKind::Read,
    } = err
    else {
        panic!("{err:?}");
    };
    assert!(err
        .to_string()
        .starts_with("insn 0: invalid memory read of 4 bytes at 0x"));
    assert_ne!(addr, 0);
    // Null pointer (no memory: r1 = 0).
    assert_eq!(
        run(&[mov(0, 0), ldx(Size::B, 0, 1, 0), EXIT]).unwrap_err(),
        VmError::MemoryAccess {
            pc: 1,
            addr: 0,
            size: 1,
            access: AccessKind::Read
        }
    );
    // Below the 512-byte frame and at its top.
    let below = run(&[stx(Size::DW, 10, -520, 1), mov(0, 0), EXIT]).unwrap_err();
    assert!(matches!(
        below,
        VmError::MemoryAccess {
            pc: 0,
            size: 8,
            access: AccessKind::Write,
            ..
        }
    ));
    let top = run(&[ldx(Size::B, 0, 10, 0), EXIT]).unwrap_err();
    assert!(matches!(
        top,
        VmError::MemoryAccess {
            pc: 0,
            access: AccessKind::Read,
            ..
        }
    ));
    // The whole frame is usable.
    assert_eq!(
        run(&[
            mov(1, 3),
            stx(Size::DW, 10, -512, 1),
            stx(Size::B, 10, -1, 1),
            ldx(Size::DW, 0, 10, -512),
            EXIT
        ]),
        Ok(3)
    );
    // Read-only regions refuse stores and atomics.
    let ro = [1u8; 8];
    let mut env = RunEnv::new();
    let a = env.add_readonly_region(&ro, RegionKind::Context);
    let p = prog(&[mov(2, 1), stx(Size::B, 1, 0, 2), EXIT]);
    let err = Machine::new().run(&p, &mut env, &[a]).unwrap_err();
    assert!(matches!(
        err,
        VmError::MemoryAccess {
            pc: 1,
            access: AccessKind::Write,
            ..
        }
    ));
    let p = prog(&[mov(2, 1), atomic(Size::W, AtomicOp::Xchg, 1, 0, 2), EXIT]);
    let err = Machine::new().run(&p, &mut env, &[a]).unwrap_err();
    assert!(matches!(
        err,
        VmError::MemoryAccess {
            pc: 1,
            access: AccessKind::Atomic,
            ..
        }
    ));
    let p = prog(&[ldx(Size::DW, 0, 1, 0), EXIT]);
    assert_eq!(
        Machine::new().run(&p, &mut env, &[a]),
        Ok(0x0101_0101_0101_0101)
    );
}

#[test]
fn misaligned_atomics_are_refused() {
    let mut mem = [0u8; 16];
    let prog = [
        mov(2, 1),
        atomic(Size::DW, AtomicOp::Add { fetch: false }, 1, 4, 2),
        EXIT,
    ];
    let err = run_mem(&prog, &mut mem).unwrap_err();
    assert!(
        matches!(err, VmError::MisalignedAtomic { pc: 1, size: 8, .. }),
        "{err:?}"
    );
}

#[test]
fn unchecked_mode_gives_the_same_results() {
    let mut mem = [5u8, 0, 0, 0, 0, 0, 0, 0];
    let insns = [
        ldx(Size::DW, 2, 1, 0),
        alu64(AluOp::Mul, 2, 3),
        stx(Size::DW, 10, -8, 2),
        atomic(Size::DW, AtomicOp::Add { fetch: true }, 10, -8, 2),
        ldx(Size::DW, 0, 10, -8),
        stx(Size::W, 1, 4, 0),
        EXIT,
    ];
    // SAFETY: every access above is in bounds of the 8-byte memory or the
    // stack frame, and the atomic is 8-aligned on the stack.
    let p = unsafe { prog(&insns).assume_verified() };
    assert_eq!(p.mode(), crate::ExecMode::Unchecked);
    let mut vm = Machine::new();
    assert_eq!(vm.run_on_memory(&p, &mut mem), Ok(30));
    assert_eq!(mem, [5, 0, 0, 0, 30, 0, 0, 0]);
}

fn ld_packet(mode: PacketMode, size: Size, imm: i32) -> Insn {
    Insn::LoadPacket { mode, size, imm }
}

#[test]
fn legacy_packet_loads_read_big_endian_and_exit_zero_out_of_bounds() {
    let mut pkt: Vec<u8> = (0u8..32).collect();
    let abs = |size, k| {
        run_mem(
            &[ld_packet(PacketMode::Abs, size, k), EXIT],
            &mut pkt.clone(),
        )
        .unwrap()
    };
    assert_eq!(abs(Size::B, 3), 3);
    assert_eq!(abs(Size::H, 1), 0x0102);
    assert_eq!(abs(Size::W, 28), 0x1c1d_1e1f);
    // Out of bounds: the program ends at once with r0 = 0 (the mov after it
    // never runs).
    let oob = |insn| run_mem(&[mov(0, 7), insn, mov(0, 9), EXIT], &mut pkt.clone()).unwrap();
    assert_eq!(oob(ld_packet(PacketMode::Abs, Size::W, 29)), 0);
    assert_eq!(oob(ld_packet(PacketMode::Abs, Size::B, 32)), 0);
    assert_eq!(oob(ld_packet(PacketMode::Abs, Size::B, -1)), 0);
    // BPF_IND: offset = (int)(src + imm).
    let ind = [
        mov(3, 4),
        ld_packet(PacketMode::Ind(r(3)), Size::H, 2),
        EXIT,
    ];
    assert_eq!(run_mem(&ind, &mut pkt.clone()).unwrap(), 0x0607);
    let neg = [
        mov(3, -2),
        ld_packet(PacketMode::Ind(r(3)), Size::B, 5),
        EXIT,
    ];
    assert_eq!(run_mem(&neg, &mut pkt.clone()).unwrap(), 3);
    // Negative offsets relative to the MAC and network headers.
    let ll = uapi::ctx::skf::SKF_LL_OFF;
    let net = uapi::ctx::skf::SKF_NET_OFF;
    assert_eq!(abs(Size::B, ll + 5), 5);
    assert_eq!(abs(Size::H, net + 2), 0x1011); // network header at 14
                                               // No packet at all: like out of bounds.
    assert_eq!(
        run(&[mov(0, 7), ld_packet(PacketMode::Abs, Size::B, 0), EXIT]),
        Ok(0)
    );
    // A packet view must lie in a region.
    let mut env = RunEnv::new();
    let a = env.add_region(&mut pkt, RegionKind::Packet);
    assert!(!env.set_packet(PacketView {
        start: a + 1,
        len: 32,
        network_offset: 0,
        mac_len: 0
    }));
}
