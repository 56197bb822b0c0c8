//! The public API: what an accepted program carries, what a rejection
//! carries, and that no input makes the verifier panic.

use isa::asm::{assemble, Syntax};
use isa::{Insn, RawInsn};
use oxbpf_verifier::{verify, LineInfo, MapMeta, Options, RejectionKind, Request};
use proptest::prelude::*;
use uapi::{MapType, ProgType};

fn asm(text: &str) -> Vec<RawInsn> {
    assemble(text, Syntax::Llvm).expect("assemble")
}

#[test]
fn xdp_context_loads_are_rewritten_to_the_runtime_layout() {
    let raw =
        asm("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = *(u32 *)(r1 + 12)\nr0 = 2\nexit");
    let v = verify(&Request::new(&raw, ProgType::Xdp)).expect("accepted");
    let decoded: Vec<Insn> = (0..3)
        .map(|i| Insn::decode(v.insns(), i).unwrap())
        .collect();
    use uapi::ctx::kern::xdp;
    assert!(
        matches!(decoded[0], Insn::Load { size: isa::Size::DW, off, .. } if off as u32 == xdp::DATA)
    );
    assert!(
        matches!(decoded[1], Insn::Load { size: isa::Size::DW, off, .. } if off as u32 == xdp::DATA_END)
    );
    assert!(
        matches!(decoded[2], Insn::Load { size: isa::Size::W, off, .. } if off as u32 == xdp::INGRESS_IFINDEX)
    );
}

#[test]
fn skb_narrow_load_keeps_its_byte_offset() {
    let raw = asm("r0 = *(u8 *)(r1 + 9)\nr0 = 0\nexit");
    let v = verify(&Request::new(&raw, ProgType::SchedCls)).expect("accepted");
    let i = Insn::decode(v.insns(), 0).unwrap();
    let want = uapi::ctx::kern::skb::MARK + 1;
    assert!(
        matches!(i, Insn::Load { size: isa::Size::B, off, .. } if off as u32 == want),
        "{i:?}"
    );
}

#[test]
fn facts_of_an_accepted_program() {
    let raw = asm(
        "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 7\ncall 1\ncall f\nr0 = 0\nexit\nf:\n*(u64 *)(r10 - 24) = 0\nr0 = 0\nexit",
    );
    let mut req = Request::new(&raw, ProgType::Xdp);
    req.maps.insert(7, MapMeta::new(MapType::Hash, 4, 8, 16));
    let v = verify(&req).expect("accepted");
    assert_eq!(v.stack_depth(), &[4, 24]);
    assert_eq!(v.used_helpers(), &[1]);
    assert_eq!(v.used_maps(), &[7]);
    assert!(v.insns_processed() >= 10);
    assert!(v.log().is_empty(), "no log at level 0");
}

#[test]
fn rejection_carries_message_errno_pc_and_log() {
    let raw = asm("r0 = 1\nr1 = r0\nr0 = *(u8 *)(r1 + 0)\nexit");
    let mut req = Request::new(&raw, ProgType::Xdp);
    req.log_level = 1;
    let r = verify(&req).unwrap_err();
    assert_eq!(r.kind, RejectionKind::Unsafe);
    assert_eq!(r.error_line(), "R1 invalid mem access 'scalar'");
    assert_eq!(r.errno, 13);
    assert_eq!(r.pc, Some(2));
    assert!(r.log.ends_with(
        "R1 invalid mem access 'scalar'\nprocessed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
    ));
    let shown = r.to_string();
    assert!(shown.contains("at insn 2"), "{shown}");
}

#[test]
fn level_one_log_keeps_only_the_failing_path() {
    let raw = asm("call 7\nr6 = r0\nr0 = 1\nif r6 > 10 goto +1\nexit\nr0 = *(u8 *)(r6 + 0)\nexit");
    let mut req = Request::new(&raw, ProgType::Xdp);
    req.log_level = 1;
    let r = verify(&req).unwrap_err();
    // The kernel's log, byte for byte (level 1 cuts the safe path back to
    // the branch, leaving the padding byte of the comment behind).
    let want = "0: R1=ctx() R10=fp0\n\
0: (85) call bpf_get_prandom_u32#7    ; R0=scalar()\n\
1: (bf) r6 = r0                       ; R0=scalar(id=1) R6=scalar(id=1)\n\
2: (b7) r0 = 1                        ; R0=1\n\
3: (25) if r6 > 0xa goto pc+1 5: R0=1 R6=scalar(id=1,umin=11) R10=fp0\n\
5: (71) r0 = *(u8 *)(r6 +0)\n\
R6 invalid mem access 'scalar'\n\
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
    assert_eq!(r.log, want);
}

#[test]
fn source_line_is_printed_beside_its_instruction() {
    let raw = asm("r0 = 0\nr1 = *(u8 *)(r0 + 0)\nexit");
    let mut req = Request::new(&raw, ProgType::Xdp);
    req.log_level = 1;
    req.line_info = vec![
        LineInfo {
            insn_off: 0,
            file: "/src/prog.c".into(),
            line: 11,
            col: 5,
            text: "int x = 0;".into(),
        },
        LineInfo {
            insn_off: 1,
            file: "/src/prog.c".into(),
            line: 12,
            col: 5,
            text: "return *p;".into(),
        },
    ];
    let r = verify(&req).unwrap_err();
    assert!(
        r.log
            .contains("; return *p; @ prog.c:12\n1: (71) r1 = *(u8 *)(r0 +0)\n"),
        "{}",
        r.log
    );
}

#[test]
fn decode_errors_are_rejections() {
    let raw = [RawInsn::new(0xff, 0, 0, 0, 0)];
    let r = verify(&Request::new(&raw, ProgType::Xdp)).unwrap_err();
    assert_eq!(r.kind, RejectionKind::Unsafe);
    assert_eq!(r.error_line(), "unknown opcode ff");
    let r = verify(&Request::new(&[], ProgType::Xdp)).unwrap_err();
    assert_eq!(r.error_line(), "empty program");
}

#[test]
fn uninitialised_stack_option() {
    let raw = asm("r0 = *(u64 *)(r10 - 8)\nexit");
    let mut req = Request::new(&raw, ProgType::Xdp);
    assert!(verify(&req).is_err());
    req.options = Options {
        allow_uninit_stack: true,
    };
    assert!(verify(&req).is_ok());
}

fn reg() -> impl Strategy<Value = isa::Reg> {
    (0u8..11).prop_map(|r| isa::Reg::new(r).expect("reg"))
}

fn operand() -> impl Strategy<Value = isa::Operand> {
    prop_oneof![
        reg().prop_map(isa::Operand::Reg),
        (-20i32..600).prop_map(isa::Operand::Imm)
    ]
}

fn size() -> impl Strategy<Value = isa::Size> {
    proptest::sample::select(vec![
        isa::Size::B,
        isa::Size::H,
        isa::Size::W,
        isa::Size::DW,
    ])
}

fn width() -> impl Strategy<Value = isa::Width> {
    proptest::sample::select(vec![isa::Width::W32, isa::Width::W64])
}

/// A random well-formed instruction (jump offsets are fixed up later).
fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        4 => (width(), proptest::sample::select(isa::AluOp::ALL.to_vec()), reg(), operand())
            .prop_map(|(width, op, dst, src)| Insn::Alu { width, op, dst, src }),
        2 => (size(), reg(), reg(), -24i16..24).prop_map(|(size, dst, src, off)| Insn::Load { size, signed: false, dst, src, off }),
        2 => (size(), reg(), -24i16..24, operand()).prop_map(|(size, dst, off, src)| Insn::Store { size, dst, off, src }),
        2 => (width(), proptest::sample::select(isa::JmpCond::ALL.to_vec()), reg(), operand(), 0i16..8)
            .prop_map(|(width, cond, dst, src, off)| Insn::Jump { width, cond, dst, src, off }),
        1 => proptest::sample::select(vec![1i32, 2, 3, 5, 7, 12, 16, 23, 26, 51, 130, 131, 132, 181])
            .prop_map(|h| Insn::Call(isa::CallTarget::Helper(h))),
        1 => (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        1 => (reg(), proptest::sample::select(vec![16u8, 32, 64])).prop_map(|(dst, bits)| Insn::Endian { order: isa::ByteOrder::ToBe, dst, bits }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(debug_assertions) { 3000 } else { 30000 }, ..ProptestConfig::default() })]

    /// No input makes the verifier panic, and nothing it reports is an
    /// internal error.
    #[test]
    fn never_panics(mut body in proptest::collection::vec(insn(), 1..40), ty in 0usize..6, lvl in 0u32..3) {
        // Forward jumps that stay inside, so that exploration (not the CFG
        // check) sees the programs.
        let n = body.len();
        for (i, insn) in body.iter_mut().enumerate() {
            if let Insn::Jump { off, .. } = insn {
                *off = (*off as i32).rem_euclid((n - i) as i32) as i16;
            }
        }
        body.push(Insn::Exit);
        let prog = isa::encode_program(&body);
        // Initialise every register (and some stack) first, so that random
        // instructions get past `!read_ok`.
        let mut init = asm("ld_pseudo r8, 2, 0\nr0 = 0\nr2 = r10\nr2 += -16\nr3 = 8\nr4 = 0\nr5 = 0\nr6 = r1\nr7 = r10\nr9 = 2\n*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0");
        init.extend(prog);
        let prog = init;
        let t = [ProgType::Xdp, ProgType::SocketFilter, ProgType::SchedCls, ProgType::Kprobe, ProgType::Tracepoint, ProgType::CgroupSkb][ty];
        let mut req = Request::new(&prog, t);
        req.log_level = lvl;
        req.maps.insert(0, MapMeta::new(MapType::Array, 4, 16, 1));
        req.maps.insert(1, MapMeta::new(MapType::Hash, 8, 8, 16));
        req.maps.insert(2, MapMeta::new(MapType::Ringbuf, 0, 0, 4096));
        match verify(&req) {
            Err(r) => prop_assert_eq!(r.kind, RejectionKind::Unsafe, "{}", r.message),
            // Dead code goes (see `dead`); nothing else changes the length.
            Ok(v) => {
                let removed: usize = v.removals().iter().map(|r| r.1 as usize).sum();
                prop_assert_eq!(v.insns().len() + removed, prog.len())
            }
        }
    }
}
