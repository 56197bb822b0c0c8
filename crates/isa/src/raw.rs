//! The 8-byte wire form of an instruction (`struct bpf_insn`).

/// One 8-byte instruction slot exactly as the kernel's `struct bpf_insn` lays
/// it out: opcode, `dst_reg:4 | src_reg:4`, `off: s16`, `imm: s32`, all
/// little-endian. `lddw` occupies two slots.
///
/// This type carries no meaning beyond the bit fields; [`crate::Insn`] is
/// the decoded, typed form every consumer should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawInsn {
    pub code: u8,
    /// Low nibble of byte 1 (0..=15 before validation).
    pub dst: u8,
    /// High nibble of byte 1 (0..=15 before validation).
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl RawInsn {
    pub const SIZE: usize = 8;

    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        RawInsn {
            code,
            dst: dst & 0xf,
            src: src & 0xf,
            off,
            imm,
        }
    }

    /// Reads one slot from 8 little-endian bytes.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        RawInsn {
            code: b[0],
            dst: b[1] & 0xf,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Writes the slot as 8 little-endian bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0xf) | (self.src << 4),
            o[0],
            o[1],
            i[0],
            i[1],
            i[2],
            i[3],
        ]
    }

    /// Splits a byte string into slots. Fails if the length is not a
    /// multiple of 8, naming the length.
    pub fn slice_from_bytes(bytes: &[u8]) -> Result<Vec<RawInsn>, crate::DecodeError> {
        if !bytes.len().is_multiple_of(Self::SIZE) {
            return Err(crate::DecodeError {
                pc: bytes.len() / Self::SIZE,
                kind: crate::DecodeErrorKind::TrailingBytes { len: bytes.len() },
            });
        }
        Ok(bytes
            .chunks_exact(Self::SIZE)
            .map(|c| RawInsn::from_bytes(c.try_into().expect("chunk of 8")))
            .collect())
    }

    /// Concatenates slots into bytes.
    pub fn slice_to_bytes(insns: &[RawInsn]) -> Vec<u8> {
        insns.iter().flat_map(|i| i.to_bytes()).collect()
    }
}
