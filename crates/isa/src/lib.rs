//! The eBPF instruction set: typed decoding and encoding of instructions,
//! the assembler and disassembler, and classic-BPF translation.
//!
//! [`Insn`] is the one decoded form of an instruction. It resolves every
//! encoding quirk once — signed division and `movsx` keyed by `off`, atomics
//! keyed by `imm`, both slots of `lddw`, the pseudo `src_reg` values of
//! `lddw` and `call` — so that nothing outside this crate compares opcode
//! bits. Decoding refuses what the kernel refuses (unknown opcodes, registers
//! above r10, non-zero reserved fields) and names the instruction index.
#![forbid(unsafe_code)]

pub mod asm;
pub mod cbpf;
mod decode;
pub mod disasm;
mod encode;
mod insn;
mod raw;
pub mod tag;
pub mod xlated;

pub use decode::{decode_bytes, decode_program, DecodeError, DecodeErrorKind};
pub use encode::encode_program;
pub use insn::*;
pub use raw::RawInsn;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every opcode byte with a spread of field values: whatever decodes
    /// must encode back to the same slot(s).
    #[test]
    fn decode_encode_round_trip_exhaustive_opcodes() {
        let imms = [0, 1, 8, 16, 32, 64, -1, 0x7fff_ffff, 0xe1, 0xf1, 0x41, 0xa0];
        let offs = [0i16, 1, 8, 16, 32, -1, 0x7fff];
        let mut accepted = 0;
        for code in 0..=255u8 {
            for dst in 0..16u8 {
                for src in 0..16u8 {
                    for &off in &offs {
                        for &imm in &imms {
                            let prog = [
                                RawInsn::new(code, dst, src, off, imm),
                                RawInsn::new(0, 0, 0, 0, imm),
                            ];
                            if let Ok(insn) = Insn::decode(&prog, 0) {
                                accepted += 1;
                                let enc = insn.encode();
                                assert_eq!(&enc[..], &prog[..insn.slots()], "{insn:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(accepted > 10_000, "only {accepted} accepted");
    }

    #[test]
    fn rejects_reserved_fields_with_index() {
        // add32 r0, 1 with src = 1 (negative/unused-add_imm-src.data)
        let prog =
            RawInsn::slice_from_bytes(&[0xb7, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x10, 0, 0, 1, 0, 0, 0])
                .unwrap();
        let err = decode_program(&prog).unwrap_err();
        assert_eq!(err.pc, 1);
        assert!(matches!(
            err.kind,
            DecodeErrorKind::ReservedField {
                field: "src_reg",
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "insn 1: BPF_ALU uses reserved fields (src_reg must be 0)"
        );
    }

    #[test]
    fn lddw_forms() {
        let prog = [RawInsn::new(0x18, 1, 2, 0, 7), RawInsn::new(0, 0, 0, 0, 16)];
        assert_eq!(
            Insn::decode(&prog, 0).unwrap(),
            Insn::LoadImm64 {
                dst: Reg::R1,
                imm: LoadImm::MapValue { fd: 7, off: 16 }
            }
        );
        // Truncated lddw.
        assert_eq!(
            Insn::decode(&prog[..1], 0).unwrap_err().kind,
            DecodeErrorKind::InvalidLdImm64
        );
        // Register 11.
        let bad = [RawInsn::new(0xb7, 11, 0, 0, 0)];
        assert_eq!(
            Insn::decode(&bad, 0).unwrap_err().kind,
            DecodeErrorKind::InvalidRegister { reg: 11 }
        );
    }

    #[test]
    fn callx_both_encodings() {
        let new = [RawInsn::new(0x8d, 2, 0, 0, 0)];
        let old = [RawInsn::new(0x8d, 0, 0, 0, 2)];
        assert_eq!(
            Insn::decode(&new, 0).unwrap(),
            Insn::CallX {
                reg: Reg::R2,
                encoding: CallxEncoding::Dst
            }
        );
        assert_eq!(
            Insn::decode(&old, 0).unwrap(),
            Insn::CallX {
                reg: Reg::R2,
                encoding: CallxEncoding::Imm
            }
        );
    }
}
