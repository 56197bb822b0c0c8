//! Parsing, checking and the shape of translations. Execution of translated
//! programs (and the comparison with tcpdump) is tested where the
//! interpreter is available: `crates/cli/src/cmd/cbpf/tests.rs`.

use super::*;
use crate::disasm::{Dialect, DisasmOptions};
use crate::{AluOp, Insn, JmpCond, Operand, Reg, Size, Width};

/// `tcpdump -ddd ip` and `tcpdump -dd ip` on an Ethernet capture.
const IP_DDD: &str = "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n";
const IP_DD: &str = "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n\
                     { 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n";

fn sf(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    SockFilter::new(code, jt, jf, k)
}

fn invalid(prog: &[SockFilter]) -> (usize, InvalidKind) {
    match check(prog) {
        Err(CbpfError::Invalid { index, kind }) => (index, kind),
        other => panic!("expected an invalid insn, got {other:?}"),
    }
}

#[test]
fn parses_ddd_dd_and_bpf_asm_forms() {
    let want = vec![
        sf(0x28, 0, 0, 12),
        sf(0x15, 0, 1, 0x800),
        sf(0x06, 0, 0, 262144),
        sf(0x06, 0, 0, 0),
    ];
    assert_eq!(parse_text(IP_DDD).unwrap(), want);
    assert_eq!(parse_text(IP_DD).unwrap(), want);
    assert_eq!(
        parse_text("# from tcpdump\n\n").unwrap_err(),
        CbpfError::Empty
    );
    assert_eq!(
        parse_text("4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,").unwrap(),
        want
    );
    // Negative k as some tools print it: SKF_AD_OFF + SKF_AD_PROTOCOL.
    assert_eq!(parse_ddd("1\n48 0 0 -4096\n").unwrap()[0].k, 0xffff_f000);
}

#[test]
fn parse_errors_name_the_line() {
    let e = parse_text("2\n40 0 0 12\n6 0 0\n").unwrap_err();
    assert_eq!(
        e,
        CbpfError::Parse {
            line: 3,
            kind: ParseErrorKind::FieldCount { found: 3 }
        }
    );
    let e = parse_text("2\n40 0 0 12\n").unwrap_err();
    assert!(matches!(
        e,
        CbpfError::Parse {
            line: 1,
            kind: ParseErrorKind::CountMismatch {
                declared: 2,
                found: 1
            }
        }
    ));
    let e = parse_text("1\n40 256 0 12\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: invalid jt \"256\"");
    let e = parse_text("{ 0x28, 0, 0, 0x1 },\nret\n").unwrap_err();
    assert!(matches!(e, CbpfError::Parse { line: 2, .. }));
    assert!(matches!(
        parse_text("ldh [12]\n").unwrap_err(),
        CbpfError::Parse {
            line: 1,
            kind: ParseErrorKind::Unrecognised { .. }
        }
    ));
    assert!(parse_text("1\n6 0 0 99999999999\n").is_err());
    assert!(parse_text("1\n6 0 0 -2147483649\n").is_err());
}

#[test]
fn sock_filter_bytes_round_trip() {
    let f = sf(0x15, 3, 4, 0x8100);
    assert_eq!(f.to_bytes(), [0x15, 0, 3, 4, 0, 0x81, 0, 0]);
    assert_eq!(SockFilter::from_bytes(f.to_bytes()), f);
    assert_eq!(sock_filters_from_bytes(&f.to_bytes()).unwrap(), vec![f]);
    assert!(sock_filters_from_bytes(&[0; 7]).is_none());
}

/// Every 16-bit code: what decodes is exactly the kernel's table
/// (`chk_code_allowed`), and encodes back to itself.
#[test]
fn opcode_table_is_the_kernels() {
    let allowed: &[u16] = &[
        0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x94, 0x9c, 0x54, 0x5c, 0x44, 0x4c, 0xa4,
        0xac, 0x64, 0x6c, 0x74, 0x7c, 0x84, // ALU
        0x20, 0x28, 0x30, 0x80, 0x40, 0x48, 0x50, 0x00, 0x60, // LD
        0x81, 0xb1, 0x01, 0x61, // LDX
        0x02, 0x03, 0x07, 0x87, 0x06, 0x16, // ST, STX, TAX, TXA, RET
        0x05, 0x15, 0x1d, 0x35, 0x3d, 0x25, 0x2d, 0x45, 0x4d, // JMP
    ];
    for code in 0..=u16::MAX {
        let f = sf(code, 0, 0, 1);
        match CbpfInsn::decode(f) {
            Ok(insn) => {
                assert!(allowed.contains(&code), "{code:#x} decoded to {insn:?}");
                assert_eq!(CbpfInsn::decode(insn.encode()), Ok(insn));
                assert_eq!(insn.encode().code, code);
            }
            Err(e) => {
                assert!(!allowed.contains(&code), "{code:#x} refused: {e}");
                assert_eq!(e, InvalidKind::UnknownOpcode { code });
            }
        }
    }
}

#[test]
fn ancillary_offsets() {
    for a in Ancillary::ALL {
        assert_eq!(Ancillary::from_k(a.k()), Some(a));
        let insn = CbpfInsn::decode(sf(0x30, 0, 0, a.k())).unwrap();
        assert_eq!(
            insn,
            CbpfInsn::LoadAnc {
                size: Size::B,
                anc: a
            }
        );
    }
    assert_eq!(Ancillary::Protocol.k(), 0xffff_f000);
    assert_eq!(Ancillary::VlanTpid.k(), 0xffff_f03c);
    // Unknown ancillary offsets are refused; net/ll-relative ones are plain.
    let (i, k) = invalid(&[sf(0x28, 0, 0, 0xffff_f040), sf(6, 0, 0, 0)]);
    assert_eq!(
        (i, k),
        (0, InvalidKind::UnknownAncillary { k: 0xffff_f040 })
    );
    let net = CbpfInsn::decode(sf(0x30, 0, 0, (-0x100000i32 + 9) as u32)).unwrap();
    assert!(matches!(net, CbpfInsn::LoadAbs { .. }));
    // Through BPF_IND they are plain loads too (the kernel only looks at ABS).
    let ind = CbpfInsn::decode(sf(0x50, 0, 0, Ancillary::Protocol.k())).unwrap();
    assert!(matches!(ind, CbpfInsn::LoadInd { .. }));
}

#[test]
fn check_refuses_what_the_kernel_refuses() {
    let ret = sf(6, 0, 0, 0);
    assert_eq!(check(&[]).unwrap_err(), CbpfError::Empty);
    let long = vec![ret; BPF_MAXINSNS + 1];
    assert_eq!(check(&long).unwrap_err(), CbpfError::TooLong { len: 4097 });
    assert!(check(&vec![ret; BPF_MAXINSNS]).is_ok());
    let cases: Vec<(Vec<SockFilter>, usize, InvalidKind)> = vec![
        (
            vec![ret, sf(0x34, 0, 0, 0), ret],
            1,
            InvalidKind::DivisionByZero,
        ),
        (vec![sf(0x94, 0, 0, 0), ret], 0, InvalidKind::DivisionByZero),
        (
            vec![sf(0x64, 0, 0, 32), ret],
            0,
            InvalidKind::ShiftTooLarge { k: 32 },
        ),
        (
            vec![sf(0x74, 0, 0, 99), ret],
            0,
            InvalidKind::ShiftTooLarge { k: 99 },
        ),
        (
            vec![sf(0x02, 0, 0, 16), ret],
            0,
            InvalidKind::ScratchIndex { idx: 16 },
        ),
        (
            vec![sf(0x61, 0, 0, 20), ret],
            0,
            InvalidKind::ScratchIndex { idx: 20 },
        ),
        (
            vec![sf(0xc7, 0, 0, 0), ret],
            0,
            InvalidKind::UnknownOpcode { code: 0xc7 },
        ),
        (
            vec![sf(0x15, 1, 0, 0), ret],
            0,
            InvalidKind::JumpOutOfRange { target: 2, len: 2 },
        ),
        (
            vec![sf(0x15, 0, 9, 0), ret],
            0,
            InvalidKind::JumpOutOfRange { target: 10, len: 2 },
        ),
        (
            vec![sf(0x05, 0, 0, 1), ret],
            0,
            InvalidKind::JumpOutOfRange { target: 2, len: 2 },
        ),
        (
            vec![ret, sf(0x05, 0, 0, u32::MAX)],
            1,
            InvalidKind::JumpOutOfRange {
                target: (1 << 32) + 1,
                len: 2,
            },
        ),
        (
            vec![ret, sf(0x87, 0, 0, 0)],
            1,
            InvalidKind::LastNotRet { code: 0x87 },
        ),
        (
            vec![sf(0x60, 0, 0, 3), ret],
            0,
            InvalidKind::UninitScratch { idx: 3 },
        ),
    ];
    for (prog, index, kind) in cases {
        assert_eq!(invalid(&prog), (index, kind.clone()), "{prog:?}");
    }
    let e = check(&[sf(0x34, 0, 0, 0), ret]).unwrap_err();
    assert_eq!(e.to_string(), "insn 0: division by constant zero");
    assert_eq!(e.index(), Some(0));
    // Shifts below 32 and division by non-zero constants are fine.
    assert!(check(&[sf(0x64, 0, 0, 31), sf(0x34, 0, 0, 3), ret]).is_ok());
}

#[test]
fn scratch_must_be_written_on_every_path() {
    let ret = sf(6, 0, 0, 0);
    // 0: jeq #1 jt 1 jf 2 ; 1: st M[0] ; 2: ld M[0] ; 3: ret
    let one_path = [sf(0x15, 0, 1, 1), sf(0x02, 0, 0, 0), sf(0x60, 0, 0, 0), ret];
    assert_eq!(
        invalid(&one_path),
        (2, InvalidKind::UninitScratch { idx: 0 })
    );
    // Stored before the branch: fine on both paths.
    let both = [
        sf(0x02, 0, 0, 0),
        sf(0x15, 0, 1, 1),
        sf(0x00, 0, 0, 5),
        sf(0x60, 0, 0, 0),
        ret,
    ];
    assert!(check(&both).is_ok());
    // stx then ldx of another word.
    let other = [sf(0x03, 0, 0, 1), sf(0x61, 0, 0, 2), ret];
    assert_eq!(invalid(&other), (1, InvalidKind::UninitScratch { idx: 2 }));
    // The kernel's quirk: the state flows through a `ret` into the next
    // instruction even though only jumps reach it. 0: st M[0] ; 1: jeq jt 2
    // (to 4) jf 0 ; 2: ret ; 3: (unreachable) ; 4: ld M[0] ; 5: ret
    let quirk = [
        sf(0x02, 0, 0, 0),
        sf(0x15, 2, 0, 7),
        ret,
        ret,
        sf(0x60, 0, 0, 0),
        ret,
    ];
    assert!(check(&quirk).is_ok());
}

#[test]
fn translation_of_ip_is_the_kernels_shape() {
    let t = translate_text(IP_DDD).unwrap();
    let ldh = Insn::LoadPacket {
        mode: crate::PacketMode::Abs,
        size: Size::H,
        imm: 12,
    };
    let want = vec![
        Insn::Alu {
            width: Width::W32,
            op: AluOp::Xor,
            dst: Reg::R0,
            src: Operand::Reg(Reg::R0),
        },
        Insn::Alu {
            width: Width::W32,
            op: AluOp::Xor,
            dst: Reg::R7,
            src: Operand::Reg(Reg::R7),
        },
        Insn::mov64_reg(Reg::R6, Reg::R1),
        ldh,
        // jeq #0x800 jt 0 jf 1: one jump on the negated condition to insn 3.
        Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Ne,
            dst: Reg::R0,
            src: Operand::Imm(0x800),
            off: 2,
        },
        Insn::Alu {
            width: Width::W32,
            op: AluOp::Mov,
            dst: Reg::R0,
            src: Operand::Imm(262144),
        },
        Insn::Exit,
        Insn::Alu {
            width: Width::W32,
            op: AluOp::Mov,
            dst: Reg::R0,
            src: Operand::Imm(0),
        },
        Insn::Exit,
    ];
    assert_eq!(t.insns, want);
    assert_eq!(t.starts, vec![3, 4, 5, 7]);
    assert_eq!(t.origin(0), None);
    assert_eq!(t.origin(4), Some(1));
    assert_eq!(t.origin(8), Some(3));
    assert_eq!(t.stack_depth, 0);
    let listing = t.listing(DisasmOptions::new(Dialect::Llvm14));
    assert!(listing.starts_with("    0: w0 ^= w0\n"), "{listing}");
    assert!(
        listing.contains(
            "; (001) jeq      #0x800           jt 2\tjf 3\n    4: if r0 != 2048 goto +2\n"
        ),
        "{listing}"
    );
    // The translation decodes back from its own bytes.
    let raw = t.encode();
    assert_eq!(crate::decode_program(&raw).unwrap().len(), t.insns.len());
}

#[test]
fn jump_forms() {
    let ret = sf(6, 0, 0, 0);
    let j = |code, jt, jf, k| {
        translate(&[sf(code, jt, jf, k), ret, ret, ret])
            .unwrap()
            .insns
    };
    let jump = |cond, src, off| Insn::Jump {
        width: Width::W64,
        cond,
        dst: Reg::R0,
        src,
        off,
    };
    // jt and jf both non-zero: a conditional jump and a `ja`.
    let i = j(0x25, 1, 2, 7);
    assert_eq!(i[3], jump(JmpCond::Gt, Operand::Imm(7), 3));
    assert_eq!(
        i[4],
        Insn::Ja {
            off: 4,
            long: false
        }
    );
    // jset with jt = 0 cannot be negated.
    let i = j(0x45, 0, 1, 4);
    assert_eq!(i[3], jump(JmpCond::Set, Operand::Imm(4), 1));
    assert_eq!(
        i[4],
        Insn::Ja {
            off: 2,
            long: false
        }
    );
    // jge with jt = 0 becomes jlt.
    assert_eq!(j(0x35, 0, 2, 4)[3], jump(JmpCond::Lt, Operand::Imm(4), 4));
    // Constants with the top bit set go through r2, zero-extended.
    let i = j(0x15, 0, 0, 0x8000_0000);
    assert_eq!(
        i[3],
        Insn::Alu {
            width: Width::W32,
            op: AluOp::Mov,
            dst: Reg::R2,
            src: Operand::Imm(i32::MIN)
        }
    );
    assert_eq!(i[4], jump(JmpCond::Eq, Operand::Reg(Reg::R2), 0));
    // jeq x
    assert_eq!(
        j(0x1d, 2, 0, 0)[3],
        jump(JmpCond::Eq, Operand::Reg(Reg::R7), 4)
    );
}

#[test]
fn scratch_and_division_expansions() {
    let ret_a = sf(0x16, 0, 0, 0);
    let t = translate(&[
        sf(0x02, 0, 0, 15),
        sf(0x61, 0, 0, 15),
        sf(0x3c, 0, 0, 0),
        ret_a,
    ])
    .unwrap();
    assert_eq!(t.stack_depth, 64);
    assert_eq!(
        t.insns[3],
        Insn::Store {
            size: Size::W,
            dst: Reg::FP,
            off: -64,
            src: Operand::Reg(Reg::R0)
        }
    );
    assert_eq!(
        t.insns[4],
        Insn::Load {
            size: Size::W,
            signed: false,
            dst: Reg::R7,
            src: Reg::FP,
            off: -64
        }
    );
    // div x: if x != 0 skip the "return 0".
    assert_eq!(
        &t.insns[5..9],
        &[
            Insn::Jump {
                width: Width::W64,
                cond: JmpCond::Ne,
                dst: Reg::R7,
                src: Operand::Imm(0),
                off: 2
            },
            Insn::Alu {
                width: Width::W32,
                op: AluOp::Xor,
                dst: Reg::R0,
                src: Operand::Reg(Reg::R0)
            },
            Insn::Exit,
            Insn::Alu {
                width: Width::W32,
                op: AluOp::Div,
                dst: Reg::R0,
                src: Operand::Reg(Reg::R7)
            },
        ]
    );
    assert_eq!(t.insns[9], Insn::Exit);
}

/// The longest expansion (`ldxb`, 7 eBPF insns) times the longest program
/// still fits eBPF's 16-bit jump offsets, so `JumpTooFar` is a guard that
/// well-formed input never reaches.
#[test]
fn longest_jumps_fit() {
    let mut prog = vec![sf(0xb1, 0, 0, 14); BPF_MAXINSNS];
    prog[0] = sf(0x05, 0, 0, (BPF_MAXINSNS - 2) as u32);
    prog[1] = sf(0x15, 255, 255, 0x8000_0000);
    prog[BPF_MAXINSNS - 1] = sf(6, 0, 0, 0);
    let t = translate(&prog).unwrap();
    assert_eq!(
        t.insns[3],
        Insn::Ja {
            off: (t.starts[BPF_MAXINSNS - 1] - 4) as i32,
            long: false
        }
    );
    assert!(t.insns.len() > 28_000);
}

#[test]
fn tcpdump_listing_text() {
    let p = parse_text("6\n40 0 0 12\n21 0 3 2048\n177 0 0 14\n72 0 0 14\n22 0 0 0\n6 0 0 0\n")
        .unwrap();
    let insns = check(&p).unwrap();
    let text: Vec<String> = insns
        .iter()
        .enumerate()
        .map(|(i, x)| cbpf_text(x, i))
        .collect();
    assert_eq!(
        text,
        [
            "ldh      [12]",
            "jeq      #0x800           jt 2\tjf 5",
            "ldxb     4*([14]&0xf)",
            "ldh      [x + 14]",
            "ret      ",
            "ret      #0",
        ]
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Codes mostly from the kernel's table, sometimes anything.
    fn code() -> impl Strategy<Value = u16> {
        prop_oneof![
            4 => prop::sample::select(vec![
                0x20u16, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00, 0x60, 0x81, 0xb1, 0x01, 0x61,
                0x02, 0x03, 0x04, 0x0c, 0x34, 0x3c, 0x94, 0x9c, 0x64, 0x6c, 0x84, 0x07, 0x87,
                0x05, 0x15, 0x1d, 0x35, 0x25, 0x45, 0x4d, 0x06, 0x16,
            ]),
            1 => any::<u16>(),
        ]
    }

    fn filter() -> impl Strategy<Value = SockFilter> {
        (code(), 0u8..8, 0u8..8, prop_oneof![0u32..20, any::<u32>()])
            .prop_map(|(c, jt, jf, k)| SockFilter::new(c, jt, jf, k))
    }

    proptest! {
        /// Any filter is either refused with an index inside the program
        /// or translated into eBPF that decodes, whose jumps land on
        /// instructions, and that ends in `exit`.
        #[test]
        fn translate_never_panics(
            prog in prop::collection::vec(filter(), 0..24),
            ret in prop::bool::weighted(0.9),
        ) {
            let mut prog = prog;
            if ret {
                prog.push(SockFilter::new(0x06, 0, 0, 1));
            }
            match translate(&prog) {
                Err(CbpfError::Invalid { index, .. }) => prop_assert!(index < prog.len()),
                Err(e) => {
                    let expected = matches!(e, CbpfError::Empty | CbpfError::TooLong { .. });
                    prop_assert!(expected, "{}", e);
                }
                Ok(t) => {
                    let n = t.insns.len() as i64;
                    for (pc, insn) in t.insns.iter().enumerate() {
                        if let Some(target) = insn.branch_target(pc) {
                            prop_assert!((0..n).contains(&target), "{pc}: {insn:?}");
                        }
                    }
                    prop_assert!(t.insns.last().unwrap().is_terminator());
                    prop_assert_eq!(crate::decode_program(&t.encode()).unwrap().len(), t.insns.len());
                }
            }
        }

        /// Text parsing never panics, whatever the input.
        #[test]
        fn parse_never_panics(text in "[0-9a-fx{},# \\-\n]{0,80}") {
            let _ = parse_text(&text);
        }
    }
}
