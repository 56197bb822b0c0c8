//! The instruction forms the JIT uses, one `const fn` each. Opcodes are
//! from the Intel SDM, volume 2; the names follow Intel syntax (destination
//! first).

use super::{encode_modrm, encode_vex, fits_i8, Cc, Enc, Form, Gpr, Mem, OpSize, Rm};

/// The eight classic two-operand ALU operations (`00`–`3F` opcode block,
/// `/digit` in the `80`/`81`/`83` immediate group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Alu {
    Add = 0,
    Or = 1,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// Shift and rotate operations (`/digit` in the `C1`/`D1`/`D3` group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Shift {
    Rol = 0,
    Ror = 1,
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

const fn w64(size: OpSize) -> bool {
    matches!(size, OpSize::B64)
}

/// `66` for 16-bit operands.
const fn opsize_prefix(size: OpSize) -> &'static [u8] {
    match size {
        OpSize::B16 => &[0x66],
        _ => &[],
    }
}

/// Whether a byte operand in register `g` needs a REX prefix.
const fn byte_rex(size: OpSize, g: Gpr) -> bool {
    matches!(size, OpSize::B8) && g.byte_needs_rex()
}

const fn plain(w: bool, opcode: &[u8]) -> Form<'_> {
    Form {
        prefixes: &[],
        w,
        force_rex: false,
        opcode,
    }
}

// ---- register/register and register/memory ALU ----

/// `op dst, src` on registers (`op r/m, r` form: `01`, `09`, `21`, `29`,
/// `31`, `39`); 32-bit forms zero the upper half of `dst` (but `cmp`).
pub const fn alu_rr(op: Alu, w: bool, dst: Gpr, src: Gpr) -> Enc {
    let opc = (op as u8) << 3 | 1;
    encode_modrm(plain(w, &[opc]), src.num(), Rm::Reg(dst))
}

/// `op reg, [mem]` (`op r, r/m` form: `03`, `0B`, `23`, `2B`, `33`, `3B`).
pub const fn alu_rm(op: Alu, w: bool, reg: Gpr, mem: Mem) -> Enc {
    let opc = (op as u8) << 3 | 3;
    encode_modrm(plain(w, &[opc]), reg.num(), Rm::Mem(mem))
}

/// `op dst, imm` with the shortest immediate (`83 /op ib` or `81 /op id`;
/// the immediate is sign-extended to the operand size).
pub const fn alu_ri(op: Alu, w: bool, dst: Gpr, imm: i32) -> Enc {
    alu_rmi(op, w, Rm::Reg(dst), imm)
}

/// `op r/m, imm` (register or memory destination).
pub const fn alu_rmi(op: Alu, w: bool, dst: Rm, imm: i32) -> Enc {
    if fits_i8(imm as i64) {
        encode_modrm(plain(w, &[0x83]), op as u8, dst).b(imm as i8 as u8)
    } else {
        encode_modrm(plain(w, &[0x81]), op as u8, dst).d32(imm as u32)
    }
}

/// `cmp byte [mem], imm8` (`80 /7 ib`).
pub const fn cmp_m8_i8(mem: Mem, imm: u8) -> Enc {
    encode_modrm(plain(false, &[0x80]), Alu::Cmp as u8, Rm::Mem(mem)).b(imm)
}

/// `test a, b` (`85 /r`).
pub const fn test_rr(w: bool, a: Gpr, b: Gpr) -> Enc {
    encode_modrm(plain(w, &[0x85]), b.num(), Rm::Reg(a))
}

/// `test r, imm32` (`F7 /0 id`; sign-extended at 64 bits).
pub const fn test_ri(w: bool, r: Gpr, imm: i32) -> Enc {
    encode_modrm(plain(w, &[0xf7]), 0, Rm::Reg(r)).d32(imm as u32)
}

// ---- moves ----

/// `mov dst, src` (`89 /r`); the 32-bit form zero-extends.
pub const fn mov_rr(w: bool, dst: Gpr, src: Gpr) -> Enc {
    encode_modrm(plain(w, &[0x89]), src.num(), Rm::Reg(dst))
}

/// `mov r32, imm32` (`B8+r id`): the upper half becomes zero.
pub const fn mov_r32_i32(dst: Gpr, imm: u32) -> Enc {
    let e = if dst.is_ext() {
        Enc::new().b(super::rex(false, false, false, true))
    } else {
        Enc::new()
    };
    e.b(0xb8 + dst.low3()).d32(imm)
}

/// `mov r64, simm32` (`REX.W C7 /0 id`): sign-extended.
pub const fn mov_r64_si32(dst: Gpr, imm: i32) -> Enc {
    encode_modrm(plain(true, &[0xc7]), 0, Rm::Reg(dst)).d32(imm as u32)
}

/// `movabs r64, imm64` (`REX.W B8+r io`).
pub const fn mov_r64_i64(dst: Gpr, imm: u64) -> Enc {
    Enc::new()
        .b(super::rex(true, false, false, dst.is_ext()))
        .b(0xb8 + dst.low3())
        .q64(imm)
}

/// The shortest way to put a 64-bit constant in a register: `xor r32, r32`
/// for zero (flags are never live across BPF instructions), `mov r32` for
/// values that zero-extend, `mov r64, simm32` for values that sign-extend,
/// `movabs` otherwise.
pub const fn mov_imm64(dst: Gpr, imm: u64) -> Enc {
    if imm == 0 {
        alu_rr(Alu::Xor, false, dst, dst)
    } else if imm <= u32::MAX as u64 {
        mov_r32_i32(dst, imm as u32)
    } else if super::fits_i32(imm as i64) {
        mov_r64_si32(dst, imm as i64 as i32)
    } else {
        mov_r64_i64(dst, imm)
    }
}

/// `mov reg, [mem]` at 8/16 (zero-extending `movzx`), 32 (zero-extending)
/// or 64 bits.
pub const fn load_zx(size: OpSize, dst: Gpr, mem: Mem) -> Enc {
    match size {
        OpSize::B8 => encode_modrm(plain(false, &[0x0f, 0xb6]), dst.num(), Rm::Mem(mem)),
        OpSize::B16 => encode_modrm(plain(false, &[0x0f, 0xb7]), dst.num(), Rm::Mem(mem)),
        OpSize::B32 => encode_modrm(plain(false, &[0x8b]), dst.num(), Rm::Mem(mem)),
        OpSize::B64 => encode_modrm(plain(true, &[0x8b]), dst.num(), Rm::Mem(mem)),
    }
}

/// Sign-extending load to 64 bits (`movsx r64, m8/m16`, `movsxd r64, m32`;
/// the 64-bit size is a plain load).
pub const fn load_sx(size: OpSize, dst: Gpr, mem: Mem) -> Enc {
    let rm = Rm::Mem(mem);
    match size {
        OpSize::B8 => encode_modrm(plain(true, &[0x0f, 0xbe]), dst.num(), rm),
        OpSize::B16 => encode_modrm(plain(true, &[0x0f, 0xbf]), dst.num(), rm),
        OpSize::B32 => encode_modrm(plain(true, &[0x63]), dst.num(), rm),
        OpSize::B64 => load_zx(OpSize::B64, dst, mem),
    }
}

/// Sign extension register to register: `movsx dst, src8/src16` (to 32 or
/// 64 bits) and `movsxd dst, src32`.
pub const fn movsx_rr(from: OpSize, w: bool, dst: Gpr, src: Gpr) -> Enc {
    let rm = Rm::Reg(src);
    match from {
        OpSize::B8 => encode_modrm(
            Form {
                prefixes: &[],
                w,
                force_rex: src.byte_needs_rex(),
                opcode: &[0x0f, 0xbe],
            },
            dst.num(),
            rm,
        ),
        OpSize::B16 => encode_modrm(plain(w, &[0x0f, 0xbf]), dst.num(), rm),
        _ => encode_modrm(plain(true, &[0x63]), dst.num(), rm),
    }
}

/// `movzx r32, r16` (`0F B7`).
pub const fn movzx_r32_r16(dst: Gpr, src: Gpr) -> Enc {
    encode_modrm(plain(false, &[0x0f, 0xb7]), dst.num(), Rm::Reg(src))
}

/// `mov [mem], reg` at any size (`88`, `66 89`, `89`, `REX.W 89`).
pub const fn store_r(size: OpSize, mem: Mem, src: Gpr) -> Enc {
    let form = Form {
        prefixes: opsize_prefix(size),
        w: w64(size),
        force_rex: byte_rex(size, src),
        opcode: if matches!(size, OpSize::B8) {
            &[0x88]
        } else {
            &[0x89]
        },
    };
    encode_modrm(form, src.num(), Rm::Mem(mem))
}

/// `mov [mem], imm` at any size (`C6 /0 ib`, `66 C7 /0 iw`, `C7 /0 id`,
/// `REX.W C7 /0 id` sign-extended).
pub const fn store_i(size: OpSize, mem: Mem, imm: i32) -> Enc {
    let form = Form {
        prefixes: opsize_prefix(size),
        w: w64(size),
        force_rex: false,
        opcode: if matches!(size, OpSize::B8) {
            &[0xc6]
        } else {
            &[0xc7]
        },
    };
    let e = encode_modrm(form, 0, Rm::Mem(mem));
    match size {
        OpSize::B8 => e.b(imm as u8),
        OpSize::B16 => e.w16(imm as u16),
        _ => e.d32(imm as u32),
    }
}

/// `mov reg, [mem]` at 64 bits.
pub const fn load64(dst: Gpr, mem: Mem) -> Enc {
    load_zx(OpSize::B64, dst, mem)
}

/// `mov [mem], reg` at 64 bits.
pub const fn store64(mem: Mem, src: Gpr) -> Enc {
    store_r(OpSize::B64, mem, src)
}

/// `lea reg, [mem]` (`8D /r`).
pub const fn lea(dst: Gpr, mem: Mem) -> Enc {
    encode_modrm(plain(true, &[0x8d]), dst.num(), Rm::Mem(mem))
}

// ---- multiply, divide, unary ----

/// `imul dst, src` (`0F AF /r`): the low half of the product, the same for
/// signed and unsigned operands.
pub const fn imul_rr(w: bool, dst: Gpr, src: Gpr) -> Enc {
    encode_modrm(plain(w, &[0x0f, 0xaf]), dst.num(), Rm::Reg(src))
}

/// `imul dst, src, imm` (`6B /r ib` or `69 /r id`).
pub const fn imul_rri(w: bool, dst: Gpr, src: Gpr, imm: i32) -> Enc {
    if fits_i8(imm as i64) {
        encode_modrm(plain(w, &[0x6b]), dst.num(), Rm::Reg(src)).b(imm as i8 as u8)
    } else {
        encode_modrm(plain(w, &[0x69]), dst.num(), Rm::Reg(src)).d32(imm as u32)
    }
}

/// `div src` (`F7 /6`): `rdx:rax / src`, quotient in `rax`, remainder in `rdx`.
pub const fn div(w: bool, src: Gpr) -> Enc {
    encode_modrm(plain(w, &[0xf7]), 6, Rm::Reg(src))
}

/// `mul src` (`F7 /4`): `rdx:rax = rax * src`, unsigned.
pub const fn mul(w: bool, src: Gpr) -> Enc {
    encode_modrm(plain(w, &[0xf7]), 4, Rm::Reg(src))
}

/// `idiv src` (`F7 /7`), signed.
pub const fn idiv(w: bool, src: Gpr) -> Enc {
    encode_modrm(plain(w, &[0xf7]), 7, Rm::Reg(src))
}

/// `cqo` / `cdq` (`REX.W 99` / `99`): sign-extend `rax` into `rdx`.
pub const fn cqo(w: bool) -> Enc {
    if w {
        Enc::new().b(0x48).b(0x99)
    } else {
        Enc::new().b(0x99)
    }
}

/// `neg r` (`F7 /3`).
pub const fn neg(w: bool, r: Gpr) -> Enc {
    encode_modrm(plain(w, &[0xf7]), 3, Rm::Reg(r))
}

/// `bswap r` (`0F C8+r`).
pub const fn bswap(w: bool, r: Gpr) -> Enc {
    let e = if w || r.is_ext() {
        Enc::new().b(super::rex(w, false, false, r.is_ext()))
    } else {
        Enc::new()
    };
    e.b(0x0f).b(0xc8 + r.low3())
}

/// `op r, imm8` (`C1 /op ib`, or `D1 /op` for a count of 1); 16-bit forms
/// take the `66` prefix.
pub const fn shift_ri(op: Shift, size: OpSize, r: Gpr, count: u8) -> Enc {
    let form = Form {
        prefixes: opsize_prefix(size),
        w: w64(size),
        force_rex: byte_rex(size, r),
        opcode: if count == 1 { &[0xd1] } else { &[0xc1] },
    };
    let e = encode_modrm(form, op as u8, Rm::Reg(r));
    if count == 1 {
        e
    } else {
        e.b(count)
    }
}

/// `op r, cl` (`D3 /op`).
pub const fn shift_rcl(op: Shift, w: bool, r: Gpr) -> Enc {
    encode_modrm(plain(w, &[0xd3]), op as u8, Rm::Reg(r))
}

/// BMI2 `shlx`/`shrx`/`sarx dst, src, count` (`VEX.LZ.{66,F2,F3}.0F38.W
/// F7 /r`): any register as the count, masked like `cl`, flags untouched.
pub const fn shiftx(op: Shift, w: bool, dst: Gpr, src: Gpr, count: Gpr) -> Enc {
    let pp = match op {
        Shift::Shl => 1, // 66
        Shift::Sar => 2, // F3
        _ => 3,          // F2: shrx (rotates have no BMI2 form)
    };
    encode_vex(2, pp, w, count, 0xf7, dst, src)
}

// ---- atomics ----

/// `lock op [mem], src` for `add`/`or`/`and`/`xor` (no result).
pub const fn lock_alu_mr(op: Alu, w: bool, mem: Mem, src: Gpr) -> Enc {
    let opc = (op as u8) << 3 | 1;
    let form = Form {
        prefixes: &[0xf0],
        w,
        force_rex: false,
        opcode: &[opc],
    };
    encode_modrm(form, src.num(), Rm::Mem(mem))
}

/// `lock xadd [mem], src` (`F0 0F C1 /r`): `src` receives the old value.
pub const fn lock_xadd(w: bool, mem: Mem, src: Gpr) -> Enc {
    let form = Form {
        prefixes: &[0xf0],
        w,
        force_rex: false,
        opcode: &[0x0f, 0xc1],
    };
    encode_modrm(form, src.num(), Rm::Mem(mem))
}

/// `lock cmpxchg [mem], src` (`F0 0F B1 /r`): compares with `rax`.
pub const fn lock_cmpxchg(w: bool, mem: Mem, src: Gpr) -> Enc {
    let form = Form {
        prefixes: &[0xf0],
        w,
        force_rex: false,
        opcode: &[0x0f, 0xb1],
    };
    encode_modrm(form, src.num(), Rm::Mem(mem))
}

/// `xchg [mem], src` (`87 /r`), locked implicitly.
pub const fn xchg_mr(w: bool, mem: Mem, src: Gpr) -> Enc {
    encode_modrm(plain(w, &[0x87]), src.num(), Rm::Mem(mem))
}

// ---- control flow ----

/// `jmp rel8` (`EB cb`).
pub const fn jmp8(rel: i8) -> Enc {
    Enc::new().b(0xeb).b(rel as u8)
}

/// `jmp rel32` (`E9 cd`).
pub const fn jmp32(rel: i32) -> Enc {
    Enc::new().b(0xe9).d32(rel as u32)
}

/// `jcc rel8` (`70+cc cb`).
pub const fn jcc8(cc: Cc, rel: i8) -> Enc {
    Enc::new().b(0x70 + cc as u8).b(rel as u8)
}

/// `jcc rel32` (`0F 80+cc cd`).
pub const fn jcc32(cc: Cc, rel: i32) -> Enc {
    Enc::new().b(0x0f).b(0x80 + cc as u8).d32(rel as u32)
}

/// `call rel32` (`E8 cd`).
pub const fn call32(rel: i32) -> Enc {
    Enc::new().b(0xe8).d32(rel as u32)
}

/// `call r64` (`FF /2`).
pub const fn call_r(r: Gpr) -> Enc {
    encode_modrm(plain(false, &[0xff]), 2, Rm::Reg(r))
}

/// `jmp r64` (`FF /4`).
pub const fn jmp_r(r: Gpr) -> Enc {
    encode_modrm(plain(false, &[0xff]), 4, Rm::Reg(r))
}

/// `ret` (`C3`).
pub const fn ret() -> Enc {
    Enc::new().b(0xc3)
}

/// `push r64` (`50+r`).
pub const fn push(r: Gpr) -> Enc {
    let e = if r.is_ext() {
        Enc::new().b(0x41)
    } else {
        Enc::new()
    };
    e.b(0x50 + r.low3())
}

/// `pop r64` (`58+r`).
pub const fn pop(r: Gpr) -> Enc {
    let e = if r.is_ext() {
        Enc::new().b(0x41)
    } else {
        Enc::new()
    };
    e.b(0x58 + r.low3())
}

/// `int3` (`CC`): fills the space no code reaches.
pub const fn int3() -> Enc {
    Enc::new().b(0xcc)
}
