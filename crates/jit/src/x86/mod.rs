//! The x86-64 encoder: registers, condition codes, memory operands, and the
//! bytes of every instruction the JIT uses.
//!
//! Written by hand rather than borrowed from an assembler crate, as the
//! kernel's, wasmtime's and sBPF's JITs are: a template JIT uses some sixty
//! instruction forms, each a few bytes built from four small pieces (prefix,
//! REX, ModRM, SIB); owning them keeps the dependency tree empty, makes every
//! byte reviewable against the Intel manual, and lets the forms be `const
//! fn`s that cost nothing at compile time. The tests check each form three
//! ways: the instruction, its expected bytes, and the text an independent
//! decoder (`iced-x86`) reads back from those bytes.
//!
//! Everything here is pure: an instruction is an [`Enc`], a small value of
//! at most 15 bytes. The code buffer ([`crate::buffer`]) appends them and
//! patches branch displacements; nothing else writes machine code.

mod insn;
#[cfg(test)]
mod tests;

pub use insn::*;

/// A general-purpose register, numbered as the hardware numbers it (the low
/// three bits go into ModRM/SIB/opcode, the fourth into REX).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Gpr {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl Gpr {
    /// The hardware number, `0..16`.
    pub const fn num(self) -> u8 {
        self as u8
    }

    /// The low three bits (what ModRM, SIB and `+r` opcodes hold).
    pub const fn low3(self) -> u8 {
        self as u8 & 7
    }

    /// Whether the register needs a REX extension bit (r8–r15).
    pub const fn is_ext(self) -> bool {
        self as u8 >= 8
    }

    /// Whether its low byte is only addressable with a REX prefix
    /// (`spl`, `bpl`, `sil`, `dil`; without REX those encodings mean
    /// `ah`, `ch`, `dh`, `bh`).
    pub const fn byte_needs_rex(self) -> bool {
        matches!(self, Gpr::Rsp | Gpr::Rbp | Gpr::Rsi | Gpr::Rdi)
    }
}

/// Operand width of integer instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpSize {
    B8,
    B16,
    B32,
    B64,
}

/// Condition codes (the low nibble of `Jcc`/`SETcc`/`CMOVcc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cc {
    O = 0,
    No = 1,
    /// Below (unsigned `<`), carry set.
    B = 2,
    /// Above or equal (unsigned `>=`), carry clear.
    Ae = 3,
    E = 4,
    Ne = 5,
    /// Below or equal (unsigned `<=`).
    Be = 6,
    /// Above (unsigned `>`).
    A = 7,
    S = 8,
    Ns = 9,
    P = 10,
    Np = 11,
    /// Less (signed `<`).
    L = 12,
    /// Greater or equal (signed `>=`).
    Ge = 13,
    /// Less or equal (signed `<=`).
    Le = 14,
    /// Greater (signed `>`).
    G = 15,
}

/// Index scale of a SIB byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Scale {
    S1 = 0,
    S2 = 1,
    S4 = 2,
    S8 = 3,
}

/// A memory operand `[base + index*scale + disp]`, or `[rip + disp]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mem {
    /// `[base + disp]`, with an optional scaled index (`rsp` cannot be one).
    Base {
        base: Gpr,
        index: Option<(Gpr, Scale)>,
        disp: i32,
    },
    /// `[rip + disp]`: `disp` counts from the end of the instruction. The
    /// buffer emits these with a placeholder and patches the displacement.
    Rip { disp: i32 },
}

impl Mem {
    /// `[base + disp]`.
    pub const fn at(base: Gpr, disp: i32) -> Mem {
        Mem::Base {
            base,
            index: None,
            disp,
        }
    }

    /// `[base + index*scale]`.
    pub const fn indexed(base: Gpr, index: Gpr, scale: Scale) -> Mem {
        Mem::Base {
            base,
            index: Some((index, scale)),
            disp: 0,
        }
    }
}

/// The r/m operand of a ModRM instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rm {
    Reg(Gpr),
    Mem(Mem),
}

/// One encoded instruction: at most 15 bytes, the architectural limit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Enc {
    buf: [u8; 15],
    len: u8,
}

impl std::fmt::Debug for Enc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Enc {
    /// No bytes yet.
    pub const fn new() -> Enc {
        Enc {
            buf: [0; 15],
            len: 0,
        }
    }

    /// Appends a byte. Every form below stays well under 15 bytes, so the
    /// index never overflows; the `min` only makes that obvious.
    pub const fn b(mut self, byte: u8) -> Enc {
        let i = if (self.len as usize) < 15 {
            self.len as usize
        } else {
            14
        };
        self.buf[i] = byte;
        self.len = i as u8 + 1;
        self
    }

    /// Appends a little-endian 16-bit value.
    pub const fn w16(self, v: u16) -> Enc {
        let b = v.to_le_bytes();
        self.b(b[0]).b(b[1])
    }

    /// Appends a little-endian 32-bit value.
    pub const fn d32(self, v: u32) -> Enc {
        let b = v.to_le_bytes();
        self.b(b[0]).b(b[1]).b(b[2]).b(b[3])
    }

    /// Appends a little-endian 64-bit value.
    pub const fn q64(self, v: u64) -> Enc {
        self.d32(v as u32).d32((v >> 32) as u32)
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Number of bytes.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing was encoded (never true for a real instruction).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Enc {
    fn default() -> Self {
        Enc::new()
    }
}

/// `REX = 0100WRXB`.
pub const fn rex(w: bool, r: bool, x: bool, b: bool) -> u8 {
    0x40 | (w as u8) << 3 | (r as u8) << 2 | (x as u8) << 1 | b as u8
}

/// `ModRM = mod(2) reg(3) rm(3)`.
pub const fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md & 3) << 6 | (reg & 7) << 3 | (rm & 7)
}

/// `SIB = scale(2) index(3) base(3)`.
pub const fn sib(scale: u8, index: u8, base: u8) -> u8 {
    (scale & 3) << 6 | (index & 7) << 3 | (base & 7)
}

/// Whether `v` fits a sign-extended 8-bit immediate or displacement.
pub const fn fits_i8(v: i64) -> bool {
    v >= i8::MIN as i64 && v <= i8::MAX as i64
}

/// Whether `v` fits a sign-extended 32-bit immediate or displacement.
pub const fn fits_i32(v: i64) -> bool {
    v >= i32::MIN as i64 && v <= i32::MAX as i64
}

/// How an instruction with a ModRM byte is put together.
#[derive(Clone, Copy)]
pub struct Form<'a> {
    /// Legacy prefixes (`lock`, `66`, `f2`, `f3`), in order.
    pub prefixes: &'a [u8],
    /// REX.W: a 64-bit operand.
    pub w: bool,
    /// Force a REX prefix (byte registers `spl`/`bpl`/`sil`/`dil`).
    pub force_rex: bool,
    /// The opcode bytes (after REX).
    pub opcode: &'a [u8],
}

/// Encodes `prefixes REX opcode ModRM [SIB] [disp]` with `reg` in the ModRM
/// reg field (a register number or an opcode extension `/digit`).
pub const fn encode_modrm(form: Form<'_>, reg: u8, rm: Rm) -> Enc {
    let mut e = Enc::new();
    let mut i = 0;
    while i < form.prefixes.len() {
        e = e.b(form.prefixes[i]);
        i += 1;
    }
    let r = reg >= 8;
    let (x, b) = match rm {
        Rm::Reg(g) => (false, g.is_ext()),
        Rm::Mem(Mem::Base { base, index, .. }) => (
            match index {
                Some((ix, _)) => ix.is_ext(),
                None => false,
            },
            base.is_ext(),
        ),
        Rm::Mem(Mem::Rip { .. }) => (false, false),
    };
    if form.w || r || x || b || form.force_rex {
        e = e.b(rex(form.w, r, x, b));
    }
    let mut i = 0;
    while i < form.opcode.len() {
        e = e.b(form.opcode[i]);
        i += 1;
    }
    match rm {
        Rm::Reg(g) => e.b(modrm(3, reg, g.low3())),
        Rm::Mem(Mem::Rip { disp }) => e.b(modrm(0, reg, 5)).d32(disp as u32),
        Rm::Mem(Mem::Base { base, index, disp }) => encode_mem(e, reg, base, index, disp),
    }
}

/// ModRM/SIB/displacement of `[base + index*scale + disp]`.
///
/// The two irregular cases of the encoding: an r/m (or SIB base) of `100`
/// (`rsp`, `r12`) means "a SIB byte follows", so those bases always take a
/// SIB; and `mod = 00` with a base of `101` (`rbp`, `r13`) means "no base,
/// disp32" (or rip-relative), so those bases always take a displacement,
/// if only a zero `disp8`.
const fn encode_mem(e: Enc, reg: u8, base: Gpr, index: Option<(Gpr, Scale)>, disp: i32) -> Enc {
    let md = if disp == 0 && base.low3() != 5 {
        0
    } else if fits_i8(disp as i64) {
        1
    } else {
        2
    };
    let e = match index {
        Some((ix, scale)) => e
            .b(modrm(md, reg, 4))
            .b(sib(scale as u8, ix.low3(), base.low3())),
        None if base.low3() == 4 => e.b(modrm(md, reg, 4)).b(sib(0, 4, base.low3())),
        None => e.b(modrm(md, reg, base.low3())),
    };
    match md {
        0 => e,
        1 => e.b(disp as i8 as u8),
        _ => e.d32(disp as u32),
    }
}

/// Encodes a VEX-prefixed (three-byte `C4` form) instruction with a ModRM
/// byte: `vvvv` names the extra register operand.
pub const fn encode_vex(map: u8, pp: u8, w: bool, vvvv: Gpr, opcode: u8, reg: Gpr, rm: Gpr) -> Enc {
    // R, X, B and vvvv are stored inverted.
    let byte1 = (!reg.is_ext() as u8) << 7 | 1 << 6 | (!rm.is_ext() as u8) << 5 | (map & 0x1f);
    let byte2 = (w as u8) << 7 | ((!vvvv.num()) & 0xf) << 3 | (pp & 3);
    Enc::new()
        .b(0xc4)
        .b(byte1)
        .b(byte2)
        .b(opcode)
        .b(modrm(3, reg.low3(), rm.low3()))
}
