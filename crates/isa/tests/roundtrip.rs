//! Disassemble → assemble gives back the same bytes, for every valid
//! instruction, in the readable LLVM dialects (14 and 19) and in the
//! conformance syntax.

use oxbpf_isa::asm::{assemble, Syntax};
use oxbpf_isa::disasm::{insn_text, Dialect, DisasmOptions};
use oxbpf_isa::*;
use proptest::prelude::*;

const DIALECTS: [(Dialect, Syntax); 3] = [
    (Dialect::Llvm14, Syntax::Llvm),
    (Dialect::Llvm19, Syntax::Llvm),
    (Dialect::Conformance, Syntax::Conformance),
];

fn round_trip(insn: &Insn) -> Result<(), TestCaseError> {
    let want = insn.encode();
    for (dialect, syntax) in DIALECTS {
        let text = insn_text(insn, DisasmOptions::new(dialect));
        let got = assemble(&text, syntax)
            .map_err(|e| TestCaseError::fail(format!("{dialect:?} {text:?} of {insn:?}: {e}")))?;
        prop_assert_eq!(&got, &want, "{:?}: {:?} of {:?}", dialect, text, insn);
    }
    Ok(())
}

/// Field values where encodings have their edges.
fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(-1),
        Just(16),
        Just(32),
        Just(64),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(0xe1),
        Just(0xf1),
        Just(0x41),
        -20i32..20,
        any::<i32>(),
    ]
}

fn off() -> impl Strategy<Value = i16> {
    prop_oneof![
        Just(0i16),
        Just(1),
        Just(8),
        Just(16),
        Just(32),
        Just(-1),
        Just(i16::MIN),
        Just(i16::MAX),
        any::<i16>(),
    ]
}

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).unwrap())
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![reg().prop_map(Operand::Reg), imm().prop_map(Operand::Imm)]
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![Just(Size::B), Just(Size::H), Just(Size::W), Just(Size::DW)]
}

/// Typed instructions, every variant, generated directly.
fn insn() -> impl Strategy<Value = Insn> {
    let alu = (width(), 0..AluOp::ALL.len(), reg(), operand()).prop_map(|(width, op, dst, src)| {
        Insn::Alu {
            width,
            op: AluOp::ALL[op],
            dst,
            src,
        }
    });
    let jump = (width(), 0..JmpCond::ALL.len(), reg(), operand(), off()).prop_map(
        |(width, c, dst, src, off)| Insn::Jump {
            width,
            cond: JmpCond::ALL[c],
            dst,
            src,
            off,
        },
    );
    let movsx = (
        width(),
        reg(),
        reg(),
        prop_oneof![Just(8u8), Just(16), Just(32)],
    )
        .prop_map(|(width, dst, src, bits)| {
            let bits = if width == Width::W32 && bits == 32 {
                16
            } else {
                bits
            };
            Insn::MovSx {
                width,
                dst,
                src,
                bits,
            }
        });
    let endian = (
        prop_oneof![
            Just(ByteOrder::ToLe),
            Just(ByteOrder::ToBe),
            Just(ByteOrder::Swap)
        ],
        reg(),
        prop_oneof![Just(16u8), Just(32), Just(64)],
    )
        .prop_map(|(order, dst, bits)| Insn::Endian { order, dst, bits });
    let lddw = (reg(), any::<u64>(), 0u8..7, imm(), imm()).prop_map(|(dst, v, kind, a, b)| {
        let imm = match kind {
            0 => LoadImm::Imm(v),
            1 => LoadImm::MapFd(a),
            2 => LoadImm::MapValue {
                fd: a,
                off: b as u32,
            },
            3 => LoadImm::BtfId { id: a, module: b },
            4 => LoadImm::Func { rel: a },
            5 => LoadImm::MapIdx(a),
            _ => LoadImm::MapIdxValue {
                idx: a,
                off: b as u32,
            },
        };
        Insn::LoadImm64 { dst, imm }
    });
    let packet =
        (prop_oneof![Just(None), reg().prop_map(Some)], 0u8..3, imm()).prop_map(|(r, s, imm)| {
            Insn::LoadPacket {
                mode: r.map_or(PacketMode::Abs, PacketMode::Ind),
                size: [Size::B, Size::H, Size::W][s as usize],
                imm,
            }
        });
    let load =
        (size(), any::<bool>(), reg(), reg(), off()).prop_map(|(size, signed, dst, src, off)| {
            Insn::Load {
                size,
                signed: signed && size != Size::DW,
                dst,
                src,
                off,
            }
        });
    let store = (size(), reg(), off(), operand()).prop_map(|(size, dst, off, src)| Insn::Store {
        size,
        dst,
        off,
        src,
    });
    let atomic = (any::<bool>(), 0..AtomicOp::ALL.len(), reg(), reg(), off()).prop_map(
        |(w, op, dst, src, off)| Insn::Atomic {
            size: if w { Size::W } else { Size::DW },
            op: AtomicOp::ALL[op],
            dst,
            src,
            off,
        },
    );
    let control = prop_oneof![
        off().prop_map(|o| Insn::Ja {
            off: o.into(),
            long: false
        }),
        imm().prop_map(|o| Insn::Ja { off: o, long: true }),
        imm().prop_map(|i| Insn::Call(CallTarget::Helper(i))),
        imm().prop_map(|rel| Insn::Call(CallTarget::Local { rel })),
        (imm(), off())
            .prop_map(|(btf_id, module)| Insn::Call(CallTarget::Kfunc { btf_id, module })),
        (reg(), any::<bool>()).prop_map(|(reg, d)| Insn::CallX {
            reg,
            encoding: if d || reg == Reg::R0 {
                CallxEncoding::Dst
            } else {
                CallxEncoding::Imm
            },
        }),
        Just(Insn::Exit),
        width().prop_flat_map(|width| reg().prop_map(move |dst| Insn::Neg { width, dst })),
    ];
    prop_oneof![alu, jump, movsx, endian, lddw, packet, load, store, atomic, control]
}

/// Every opcode byte the decoder knows, so that random slots hit them.
fn code() -> impl Strategy<Value = u8> {
    let valid: Vec<u8> = (0..=255u8)
        .filter(|&c| {
            (0..16u8).any(|d| {
                [0i32, 16, 32, 64, 1, 0xe1].iter().any(|&imm| {
                    [0i16, 1, 8, 16, 32].iter().any(|&off| {
                        (0..3u8).any(|s| {
                            Insn::decode(&[RawInsn::new(c, d, s, off, imm), RawInsn::default()], 0)
                                .is_ok()
                        })
                    })
                })
            })
        })
        .collect();
    prop::sample::select(valid)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn generated_insns_round_trip(insn in insn()) {
        // Only instructions the decoder accepts are instructions.
        let slots = insn.encode();
        prop_assume!(Insn::decode(&slots, 0) == Ok(insn));
        round_trip(&insn)?;
    }

    #[test]
    fn decodable_random_slots_round_trip(
        code in code(), dst in 0u8..16, src in 0u8..8, off in off(), imm in imm(), imm2 in imm(),
    ) {
        let slots = [RawInsn::new(code, dst, src, off, imm), RawInsn::new(0, 0, 0, 0, imm2)];
        if let Ok(insn) = Insn::decode(&slots, 0) {
            round_trip(&insn)?;
            // The other texts exist for every instruction too.
            for d in [Dialect::Llvm14, Dialect::Llvm19] {
                prop_assert!(!insn_text(&insn, DisasmOptions::exact(d)).is_empty());
            }
            let k = insn_text(&insn, DisasmOptions::new(Dialect::Kernel));
            prop_assert!(k.starts_with(&format!("({code:02x}) ")), "{}", k);
        }
    }
}

/// Fragments of both syntaxes, to build lines that get far into the parsers.
fn fragment() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "r0",
        "w1",
        "r10",
        "r11",
        "%r1",
        "%r99",
        "=",
        "+=",
        "s>>=",
        "-",
        "+",
        "*",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "u32",
        "s8",
        "*(u64 *)",
        "(r1 + 8)",
        "[%r1+4]",
        "[%r1-0x10000]",
        "ll",
        "goto",
        "gotol",
        "if",
        "==",
        "s<",
        "&",
        "call",
        "callx",
        "local",
        "runtime",
        "helper",
        "lock",
        "fetch",
        "add32",
        "xchg",
        "cmpxchg_64(",
        "atomic_fetch_or(",
        "skb[",
        "be16",
        "bswap64",
        "exit",
        "lddw",
        "ldxw",
        "stb",
        "mov32",
        "movsx832",
        "jeq32",
        "ja",
        "ja32",
        "pc+1",
        "+3",
        "-0x8000",
        "0x",
        "0xffffffff",
        "4294967296",
        "-2147483649",
        "99999999999999999999999",
        "label",
        "label:",
        "#",
        ";",
        "//",
        "é",
        "\u{1F600}",
        "\t",
    ]);
    prop_oneof![
        words.prop_map(str::to_string),
        "[ -~]{0,6}",
        any::<char>()
            .prop_filter("one line", |c| *c != '\n' && *c != '\r')
            .prop_map(|c| c.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Any text is either assembled or refused with an error; never a
    /// panic, and errors point inside the text.
    #[test]
    fn assembler_never_panics(lines in prop::collection::vec(prop::collection::vec(fragment(), 0..8), 1..4)) {
        let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
        for syntax in [Syntax::Llvm, Syntax::Conformance] {
            if let Err(e) = assemble(&text, syntax) {
                prop_assert!(e.line >= 1 && e.line <= lines.len(), "{e} in {text:?}");
                let line = text.lines().nth(e.line - 1).unwrap_or("");
                prop_assert!(e.column >= 1 && e.column <= line.chars().count() + 1, "{e} in {text:?}");
            }
        }
    }
}

proptest! {
    /// Arbitrary bytes: listings in every dialect and the objdump section
    /// body never panic, and the LLVM ones cover every slot.
    #[test]
    fn disassembler_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), sym in 0usize..30) {
        use oxbpf_isa::disasm::{listing, objdump_section, Symbol};
        let slots = RawInsn::slice_from_bytes(&bytes[..bytes.len() / 8 * 8]).unwrap();
        for d in [Dialect::Llvm14, Dialect::Llvm19, Dialect::Kernel, Dialect::Conformance] {
            let _ = listing(&slots, DisasmOptions::new(d));
        }
        let syms = [
            Symbol { slot: sym, name: "f".into() },
            Symbol { slot: 0, name: "s".into() },
        ];
        let body = objdump_section(&slots, &syms, DisasmOptions::exact(Dialect::Llvm19));
        let lines = body.lines().filter(|l| l.contains(":\t")).count();
        prop_assert!(lines <= slots.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Whole programs, with branches into, inside and out of them: the
    /// conformance listing (labels for targets inside) reads back to the
    /// same bytes.
    #[test]
    fn conformance_listing_round_trips(
        prog in prop::collection::vec((insn(), -6i16..6, any::<bool>()), 1..24)
    ) {
        use oxbpf_isa::disasm::listing;
        let insns: Vec<Insn> = prog
            .into_iter()
            .map(|(i, near, use_near)| match i {
                // Mostly short branches, so that labels are exercised.
                Insn::Jump { width, cond, dst, src, .. } if use_near => {
                    Insn::Jump { width, cond, dst, src, off: near }
                }
                Insn::Ja { long, .. } if use_near => Insn::Ja { off: near.into(), long },
                Insn::Call(CallTarget::Local { .. }) if use_near => {
                    Insn::Call(CallTarget::Local { rel: near.into() })
                }
                i => i,
            })
            .filter(|i| Insn::decode(&i.encode(), 0) == Ok(*i))
            .collect();
        let slots = encode_program(&insns);
        let text = listing(&slots, DisasmOptions::new(Dialect::Conformance)).unwrap();
        let again = assemble(&text, Syntax::Conformance)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(again, slots, "{}", text);
    }
}
