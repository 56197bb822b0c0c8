//! ALU semantics against a reference written from the ISA text (RFC 9669
//! §4.1–4.3), independently of the interpreter: wide (`i128`/`u128`)
//! arithmetic truncated to the width, so that overflow, `INT_MIN / -1` and
//! masking follow from the definitions rather than from Rust's `wrapping_*`.

use super::*;
use isa::ByteOrder;

/// RFC 9669: "dst = dst op src", 32-bit operations on the low halves with
/// the result zero-extended; div by 0 → 0, mod by 0 → dst; shifts masked
/// with 63/31; signed division truncates toward zero and signed modulo takes
/// the sign of the dividend; results wrap to the width.
fn reference(width: Width, op: AluOp, dst: u64, src: u64) -> u64 {
    let bits = width.bits();
    let mask: u128 = (1u128 << bits) - 1;
    let a = dst as u128 & mask;
    let b = src as u128 & mask;
    let signed = |v: u128| -> i128 {
        if v >> (bits - 1) & 1 == 1 {
            v as i128 - (1i128 << bits)
        } else {
            v as i128
        }
    };
    let (sa, sb) = (signed(a), signed(b));
    let sh = (b % bits as u128) as u32;
    let r: u128 = match op {
        AluOp::Add => a + b,
        AluOp::Sub => a + (1u128 << bits) - b,
        AluOp::Mul => a * b,
        AluOp::Div => a.checked_div(b).unwrap_or(0),
        AluOp::Mod => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
        AluOp::SDiv => {
            if sb == 0 {
                0
            } else {
                (sa / sb) as u128
            }
        }
        AluOp::SMod => {
            if sb == 0 {
                a
            } else {
                (sa % sb) as u128
            }
        }
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Xor => a ^ b,
        AluOp::Mov => b,
        AluOp::Lsh => a << sh,
        AluOp::Rsh => a >> sh,
        AluOp::Arsh => (sa >> sh) as u128,
    };
    (r & mask) as u64
}

/// Values where ALU bugs live: zero, ±1, the signed and unsigned extremes at
/// both widths, shift counts around the widths.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    33,
    63,
    64,
    65,
    0x7f,
    0x80,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0x8000_0000_0000_0001,
    u64::MAX,
    u64::MAX - 1,
    (-7i64) as u64,
    (-32i64) as u64,
    0xffff_ffff_8000_0000,
];

/// Runs `op` on `dst` with a register operand `src` and with the immediate
/// `imm` (when given), returns r1 afterwards.
fn exec(width: Width, op: AluOp, dst: u64, src: Operand, src_val: u64) -> u64 {
    let insns = [
        lddw(1, dst),
        lddw(2, src_val),
        Insn::Alu {
            width,
            op,
            dst: r(1),
            src,
        },
        movr(0, 1),
        EXIT,
    ];
    run(&insns).expect("alu program runs")
}

fn check(width: Width, op: AluOp, dst: u64, src: u64, failures: &mut Vec<String>) {
    let want = reference(width, op, dst, src);
    let got = exec(width, op, dst, Operand::Reg(r(2)), src);
    if got != want {
        failures.push(format!(
            "{op:?} {width:?} reg: {dst:#x}, {src:#x} = {got:#x}, want {want:#x}"
        ));
    }
    // The immediate form: the operand is the sign-extended 32-bit value.
    if src as i64 == src as i32 as i64 {
        let got = exec(width, op, dst, Operand::Imm(src as i32), 0);
        if got != want {
            failures.push(format!(
                "{op:?} {width:?} imm: {dst:#x}, {src:#x} = {got:#x}, want {want:#x}"
            ));
        }
    }
}

#[test]
fn every_alu_op_both_widths_on_edge_values() {
    let mut failures = Vec::new();
    for width in [Width::W64, Width::W32] {
        for op in AluOp::ALL {
            for &a in EDGES {
                for &b in EDGES {
                    check(width, op, a, b, &mut failures);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_alu_op_both_widths_on_random_values() {
    let mut rng = Rng(0x5eed);
    let mut failures = Vec::new();
    for _ in 0..300 {
        let a = rng.next();
        // Mix full 64-bit operands with small and sign-extended ones.
        let b = match rng.next() % 3 {
            0 => rng.next(),
            1 => rng.next() % 70,
            _ => rng.next() as i32 as i64 as u64,
        };
        for width in [Width::W64, Width::W32] {
            for op in AluOp::ALL {
                check(width, op, a, b, &mut failures);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The cases the kernel documents specially, spelled out.
#[test]
fn kernel_edge_cases() {
    use AluOp::*;
    use Width::*;
    let min64 = i64::MIN as u64;
    let min32 = i32::MIN as u32 as u64;
    let neg1 = u64::MAX;
    let cases: &[(Width, AluOp, u64, u64, u64)] = &[
        // INT_MIN / -1 wraps, INT_MIN % -1 is 0, no trap.
        (W64, SDiv, min64, neg1, min64),
        (W64, SMod, min64, neg1, 0),
        (W32, SDiv, min32, neg1, min32),
        (W32, SMod, min32, neg1, 0),
        // Division by zero gives 0 at both widths.
        (W64, Div, 42, 0, 0),
        (W64, SDiv, 42, 0, 0),
        (W32, Div, 42, 0, 0),
        (W32, SDiv, 42, 0, 0),
        // Modulo by zero leaves dst; at 32 bits its low half, zero-extended.
        (W64, Mod, 0x1234_5678_9abc_def0, 0, 0x1234_5678_9abc_def0),
        (W64, SMod, neg1, 0, neg1),
        (W32, Mod, 0x1234_5678_9abc_def0, 0, 0x9abc_def0),
        (W32, SMod, neg1, 0, 0xffff_ffff),
        // A 32-bit divisor of 2^32 is 0 at 32 bits.
        (W32, Div, 10, 0x1_0000_0000, 0),
        // Shifts by at least the width are masked.
        (W64, Lsh, 1, 64, 1),
        (W64, Lsh, 1, 65, 2),
        (W32, Lsh, 1, 32, 1),
        (W32, Rsh, 0x8000_0000, 33, 0x4000_0000),
        (W64, Arsh, min64, 127, neg1),
        (W32, Arsh, min32, 63, 0xffff_ffff),
        // Signed modulo takes the dividend's sign.
        (W64, SMod, (-7i64) as u64, 3, (-1i64) as u64),
        (W64, SMod, 7, (-3i64) as u64, 1),
        // 32-bit results zero-extend.
        (W32, Add, 0xffff_ffff, 1, 0),
        (W32, Mov, 0, neg1, 0xffff_ffff),
        (W32, Sub, 0, 1, 0xffff_ffff),
    ];
    for &(w, op, a, b, want) in cases {
        assert_eq!(
            exec(w, op, a, Operand::Reg(r(2)), b),
            want,
            "{op:?} {w:?} {a:#x}, {b:#x}"
        );
        assert_eq!(reference(w, op, a, b), want, "reference {op:?} {w:?}");
    }
}

fn unary(insn: Insn, v: u64) -> u64 {
    run(&[lddw(1, v), lddw(2, v), insn, movr(0, 1), EXIT]).unwrap()
}

#[test]
fn neg_movsx_and_byte_order() {
    let mut rng = Rng(7);
    let values: Vec<u64> = EDGES
        .iter()
        .copied()
        .chain((0..200).map(|_| rng.next()))
        .collect();
    for v in values {
        let neg = |width| Insn::Neg { width, dst: r(1) };
        assert_eq!(unary(neg(Width::W64), v), 0u64.wrapping_sub(v));
        assert_eq!(
            unary(neg(Width::W32), v),
            (0u32.wrapping_sub(v as u32)) as u64
        );
        for (width, bits) in [(Width::W64, 8), (Width::W64, 16), (Width::W64, 32)] {
            let sx = Insn::MovSx {
                width,
                dst: r(1),
                src: r(2),
                bits,
            };
            let want = ((v << (64 - bits)) as i64 >> (64 - bits)) as u64;
            assert_eq!(unary(sx, v), want, "movsx64/{bits} {v:#x}");
        }
        for bits in [8u32, 16] {
            let sx = Insn::MovSx {
                width: Width::W32,
                dst: r(1),
                src: r(2),
                bits: bits as u8,
            };
            let want = (((v as u32) << (32 - bits)) as i32 >> (32 - bits)) as u32 as u64;
            assert_eq!(unary(sx, v), want, "movsx32/{bits} {v:#x}");
        }
        let end = |order, bits| Insn::Endian {
            order,
            dst: r(1),
            bits,
        };
        let l = v.to_le_bytes();
        assert_eq!(unary(end(ByteOrder::ToLe, 16), v), v & 0xffff);
        assert_eq!(unary(end(ByteOrder::ToLe, 32), v), v & 0xffff_ffff);
        assert_eq!(unary(end(ByteOrder::ToLe, 64), v), v);
        for order in [ByteOrder::ToBe, ByteOrder::Swap] {
            assert_eq!(
                unary(end(order, 16), v),
                u16::from_be_bytes([l[0], l[1]]) as u64
            );
            assert_eq!(
                unary(end(order, 32), v),
                u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as u64
            );
            assert_eq!(unary(end(order, 64), v), u64::from_be_bytes(l));
        }
    }
}

#[test]
fn jumps_at_both_widths_against_the_condition_definitions() {
    let mut rng = Rng(99);
    let pairs: Vec<(u64, u64)> = EDGES
        .iter()
        .flat_map(|&a| EDGES.iter().map(move |&b| (a, b)))
        .chain((0..200).map(|_| (rng.next(), rng.next())))
        .collect();
    for cond in JmpCond::ALL {
        for width in [Width::W64, Width::W32] {
            for &(a, b) in &pairs {
                let want = cond.eval_width(width, a, b);
                let jump = Insn::Jump {
                    width,
                    cond,
                    dst: r(1),
                    src: Operand::Reg(r(2)),
                    off: 2,
                };
                let insns = [
                    lddw(1, a),
                    lddw(2, b),
                    jump,
                    mov(0, 0),
                    EXIT,
                    mov(0, 1),
                    EXIT,
                ];
                assert_eq!(
                    run(&insns).unwrap() == 1,
                    want,
                    "{cond:?} {width:?} {a:#x} {b:#x}"
                );
                if b as i64 == b as i32 as i64 {
                    let imm = Insn::Jump {
                        width,
                        cond,
                        dst: r(1),
                        src: Operand::Imm(b as i32),
                        off: 2,
                    };
                    let insns = [
                        lddw(1, a),
                        lddw(2, b),
                        imm,
                        mov(0, 0),
                        EXIT,
                        mov(0, 1),
                        EXIT,
                    ];
                    assert_eq!(
                        run(&insns).unwrap() == 1,
                        want,
                        "{cond:?} {width:?} imm {a:#x} {b:#x}"
                    );
                }
            }
        }
    }
}
