//! Encoder triples: each form, the bytes the Intel manual gives for it, and
//! the text `iced-x86` decodes from those bytes. The bytes were written from
//! the manual, not copied from a decoder, so a wrong ModRM/REX shows up as a
//! byte mismatch and a mis-chosen opcode as a text mismatch.

use super::*;
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|t| u8::from_str_radix(t, 16).expect("hex"))
        .collect()
}

/// Decodes exactly one instruction from `bytes` and formats it.
fn text(bytes: &[u8]) -> String {
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let insn = d.decode();
    assert!(!insn.is_invalid(), "iced cannot decode {bytes:02x?}");
    assert_eq!(insn.len(), bytes.len(), "trailing bytes in {bytes:02x?}");
    let mut f = IntelFormatter::new();
    f.options_mut().set_space_after_operand_separator(true);
    f.options_mut().set_uppercase_hex(false);
    let mut out = String::new();
    f.format(&insn, &mut out);
    out
}

#[track_caller]
fn check(e: Enc, bytes: &str, want: &str) {
    assert_eq!(e.bytes(), hex(bytes).as_slice(), "bytes of `{want}`");
    assert_eq!(text(e.bytes()), want, "text of {bytes}");
}

use Gpr::*;

#[test]
fn alu_register_forms() {
    check(alu_rr(Alu::Add, true, Rax, Rbx), "48 01 d8", "add rax, rbx");
    check(
        alu_rr(Alu::Sub, false, Rdi, R15),
        "44 29 ff",
        "sub edi, r15d",
    );
    check(alu_rr(Alu::Xor, true, R13, Rbp), "49 31 ed", "xor r13, rbp");
    check(alu_rr(Alu::Cmp, true, R8, R9), "4d 39 c8", "cmp r8, r9");
    check(alu_rr(Alu::Or, false, Rcx, Rdx), "09 d1", "or ecx, edx");
    check(alu_rr(Alu::And, true, Rsi, Rsi), "48 21 f6", "and rsi, rsi");
    check(test_rr(true, Rbx, Rbx), "48 85 db", "test rbx, rbx");
    check(test_rr(false, R14, Rax), "41 85 c6", "test r14d, eax");
}

#[test]
fn alu_immediate_forms() {
    check(alu_ri(Alu::Add, true, Rax, 1), "48 83 c0 01", "add rax, 1");
    check(
        alu_ri(Alu::Add, true, Rax, -128),
        "48 83 c0 80",
        "add rax, 0ffffffffffffff80h",
    );
    check(
        alu_ri(Alu::Sub, false, R15, 128),
        "41 81 ef 80 00 00 00",
        "sub r15d, 80h",
    );
    check(
        alu_ri(Alu::And, true, Rdi, -1),
        "48 83 e7 ff",
        "and rdi, 0ffffffffffffffffh",
    );
    check(
        alu_ri(Alu::Cmp, false, Rcx, 0x1234_5678),
        "81 f9 78 56 34 12",
        "cmp ecx, 12345678h",
    );
    check(alu_ri(Alu::Xor, true, R12, 7), "49 83 f4 07", "xor r12, 7");
    check(
        test_ri(true, Rdx, 0x10),
        "48 f7 c2 10 00 00 00",
        "test rdx, 10h",
    );
    check(
        cmp_m8_i8(Mem::at(R11, 0x30), 0),
        "41 80 7b 30 00",
        "cmp byte ptr [r11+30h], 0",
    );
}

#[test]
fn register_memory_forms() {
    check(
        alu_rm(Alu::Cmp, true, Rsp, Mem::at(R12, 16)),
        "49 3b 64 24 10",
        "cmp rsp, [r12+10h]",
    );
    check(
        alu_rm(Alu::Add, true, R11, Mem::at(R12, 24)),
        "4d 03 5c 24 18",
        "add r11, [r12+18h]",
    );
}

#[test]
fn moves() {
    check(mov_rr(true, Rbx, Rdi), "48 89 fb", "mov rbx, rdi");
    check(mov_rr(false, Rax, Rax), "89 c0", "mov eax, eax");
    check(mov_rr(true, R9, R12), "4d 89 e1", "mov r9, r12");
    check(mov_r32_i32(Rax, 1), "b8 01 00 00 00", "mov eax, 1");
    check(
        mov_r32_i32(R13, 0xffff_ffff),
        "41 bd ff ff ff ff",
        "mov r13d, 0ffffffffh",
    );
    check(
        mov_r64_si32(Rcx, -1),
        "48 c7 c1 ff ff ff ff",
        "mov rcx, 0ffffffffffffffffh",
    );
    check(
        mov_r64_i64(R15, 0x1122_3344_5566_7788),
        "49 bf 88 77 66 55 44 33 22 11",
        "mov r15, 1122334455667788h",
    );
    check(mov_imm64(Rdx, 0), "31 d2", "xor edx, edx");
    check(mov_imm64(Rdx, 5), "ba 05 00 00 00", "mov edx, 5");
    check(
        mov_imm64(Rdx, u64::MAX),
        "48 c7 c2 ff ff ff ff",
        "mov rdx, 0ffffffffffffffffh",
    );
    check(
        mov_imm64(Rdx, 1 << 32),
        "48 ba 00 00 00 00 01 00 00 00",
        "mov rdx, 100000000h",
    );
}

#[test]
fn memory_operand_special_bases() {
    // rbp and r13 need a displacement even when it is zero; rsp and r12 need
    // a SIB byte.
    check(
        load64(Rax, Mem::at(Rbp, 0)),
        "48 8b 45 00",
        "mov rax, [rbp]",
    );
    check(
        load64(Rax, Mem::at(R13, 0)),
        "49 8b 45 00",
        "mov rax, [r13]",
    );
    check(
        load64(Rax, Mem::at(Rsp, 0)),
        "48 8b 04 24",
        "mov rax, [rsp]",
    );
    check(
        load64(Rax, Mem::at(R12, 8)),
        "49 8b 44 24 08",
        "mov rax, [r12+8]",
    );
    check(
        load64(R8, Mem::at(Rbx, -512)),
        "4c 8b 83 00 fe ff ff",
        "mov r8, [rbx-200h]",
    );
    check(
        load64(Rdi, Mem::at(Rsi, 127)),
        "48 8b 7e 7f",
        "mov rdi, [rsi+7fh]",
    );
    check(
        load64(Rdi, Mem::at(Rsi, -128)),
        "48 8b 7e 80",
        "mov rdi, [rsi-80h]",
    );
    check(
        load64(R11, Mem::indexed(R10, R11, Scale::S8)),
        "4f 8b 1c da",
        "mov r11, [r10+r11*8]",
    );
    check(
        load_sx(OpSize::B32, R11, Mem::indexed(R10, Rax, Scale::S4)),
        "4d 63 1c 82",
        "movsxd r11, [r10+rax*4]",
    );
    check(
        lea(R11, Mem::Rip { disp: 0x10 }),
        "4c 8d 1d 10 00 00 00",
        "lea r11, [17h]",
    );
    check(
        lea(Rbp, Mem::at(Rsp, 512)),
        "48 8d ac 24 00 02 00 00",
        "lea rbp, [rsp+200h]",
    );
}

#[test]
fn loads_and_stores_at_every_size() {
    let m = Mem::at(Rdi, 4);
    check(
        load_zx(OpSize::B8, Rax, m),
        "0f b6 47 04",
        "movzx eax, byte ptr [rdi+4]",
    );
    check(
        load_zx(OpSize::B16, R9, m),
        "44 0f b7 4f 04",
        "movzx r9d, word ptr [rdi+4]",
    );
    check(load_zx(OpSize::B32, Rcx, m), "8b 4f 04", "mov ecx, [rdi+4]");
    check(
        load_sx(OpSize::B8, Rax, m),
        "48 0f be 47 04",
        "movsx rax, byte ptr [rdi+4]",
    );
    check(
        load_sx(OpSize::B16, Rax, m),
        "48 0f bf 47 04",
        "movsx rax, word ptr [rdi+4]",
    );
    check(
        load_sx(OpSize::B32, Rax, m),
        "48 63 47 04",
        "movsxd rax, [rdi+4]",
    );
    // sil/dil/bpl need a REX prefix, or the bytes would mean dh/bh/ch.
    check(
        store_r(OpSize::B8, Mem::at(Rax, 0), Rsi),
        "40 88 30",
        "mov [rax], sil",
    );
    check(
        store_r(OpSize::B8, Mem::at(Rax, 0), Rbx),
        "88 18",
        "mov [rax], bl",
    );
    check(
        store_r(OpSize::B8, Mem::at(Rbp, -1), Rdi),
        "40 88 7d ff",
        "mov [rbp-1], dil",
    );
    check(
        store_r(OpSize::B16, Mem::at(Rbp, -2), R14),
        "66 44 89 75 fe",
        "mov [rbp-2], r14w",
    );
    check(
        store_r(OpSize::B32, Mem::at(R13, 0), Rdx),
        "41 89 55 00",
        "mov [r13], edx",
    );
    check(
        store_r(OpSize::B64, Mem::at(Rsp, 8), Rax),
        "48 89 44 24 08",
        "mov [rsp+8], rax",
    );
    check(
        store_i(OpSize::B8, Mem::at(Rdi, 0), 0x1ff),
        "c6 07 ff",
        "mov byte ptr [rdi], 0ffh",
    );
    check(
        store_i(OpSize::B16, Mem::at(Rdi, 2), 0x1234),
        "66 c7 47 02 34 12",
        "mov word ptr [rdi+2], 1234h",
    );
    check(
        store_i(OpSize::B32, Mem::at(Rbp, -8), -2),
        "c7 45 f8 fe ff ff ff",
        "mov dword ptr [rbp-8], 0fffffffeh",
    );
    check(
        store_i(OpSize::B64, Mem::at(Rbp, -8), -2),
        "48 c7 45 f8 fe ff ff ff",
        "mov qword ptr [rbp-8], 0fffffffffffffffeh",
    );
}

#[test]
fn multiply_divide_unary() {
    check(imul_rr(true, Rax, Rbx), "48 0f af c3", "imul rax, rbx");
    check(imul_rr(false, R8, Rcx), "44 0f af c1", "imul r8d, ecx");
    check(
        imul_rri(true, Rdi, Rsi, 3),
        "48 6b fe 03",
        "imul rdi, rsi, 3",
    );
    check(
        imul_rri(false, Rdi, Rsi, 1000),
        "69 fe e8 03 00 00",
        "imul edi, esi, 3e8h",
    );
    check(div(true, R11), "49 f7 f3", "div r11");
    check(div(false, R11), "41 f7 f3", "div r11d");
    check(idiv(true, R11), "49 f7 fb", "idiv r11");
    check(mul(true, Rdx), "48 f7 e2", "mul rdx");
    check(cqo(true), "48 99", "cqo");
    check(cqo(false), "99", "cdq");
    check(neg(true, R14), "49 f7 de", "neg r14");
    check(neg(false, Rax), "f7 d8", "neg eax");
    check(bswap(true, Rdx), "48 0f ca", "bswap rdx");
    check(bswap(false, R15), "41 0f cf", "bswap r15d");
    check(bswap(false, Rcx), "0f c9", "bswap ecx");
}

#[test]
fn sign_and_zero_extension() {
    check(
        movsx_rr(OpSize::B8, true, Rax, Rsi),
        "48 0f be c6",
        "movsx rax, sil",
    );
    check(
        movsx_rr(OpSize::B8, false, Rax, Rsi),
        "40 0f be c6",
        "movsx eax, sil",
    );
    check(
        movsx_rr(OpSize::B8, false, Rax, Rbx),
        "0f be c3",
        "movsx eax, bl",
    );
    check(
        movsx_rr(OpSize::B16, true, R13, Rcx),
        "4c 0f bf e9",
        "movsx r13, cx",
    );
    check(
        movsx_rr(OpSize::B16, false, Rcx, R13),
        "41 0f bf cd",
        "movsx ecx, r13w",
    );
    check(
        movsx_rr(OpSize::B32, true, Rbx, R15),
        "49 63 df",
        "movsxd rbx, r15d",
    );
    check(movzx_r32_r16(Rdi, Rdi), "0f b7 ff", "movzx edi, di");
}

#[test]
fn shifts() {
    check(
        shift_ri(Shift::Shl, OpSize::B64, Rax, 3),
        "48 c1 e0 03",
        "shl rax, 3",
    );
    check(
        shift_ri(Shift::Shr, OpSize::B32, R9, 1),
        "41 d1 e9",
        "shr r9d, 1",
    );
    check(
        shift_ri(Shift::Sar, OpSize::B64, Rbp, 63),
        "48 c1 fd 3f",
        "sar rbp, 3fh",
    );
    check(
        shift_ri(Shift::Rol, OpSize::B16, Rsi, 8),
        "66 c1 c6 08",
        "rol si, 8",
    );
    check(shift_rcl(Shift::Shl, true, Rbx), "48 d3 e3", "shl rbx, cl");
    check(
        shift_rcl(Shift::Sar, false, R11),
        "41 d3 fb",
        "sar r11d, cl",
    );
    check(
        shiftx(Shift::Shl, true, Rax, Rax, Rcx),
        "c4 e2 f1 f7 c0",
        "shlx rax, rax, rcx",
    );
    check(
        shiftx(Shift::Shr, false, R13, R13, Rdi),
        "c4 42 43 f7 ed",
        "shrx r13d, r13d, edi",
    );
    check(
        shiftx(Shift::Sar, true, Rsi, Rsi, R15),
        "c4 e2 82 f7 f6",
        "sarx rsi, rsi, r15",
    );
}

#[test]
fn atomics() {
    let m = Mem::at(Rdi, 8);
    check(
        lock_alu_mr(Alu::Add, true, m, Rsi),
        "f0 48 01 77 08",
        "lock add [rdi+8], rsi",
    );
    check(
        lock_alu_mr(Alu::Or, false, m, R8),
        "f0 44 09 47 08",
        "lock or [rdi+8], r8d",
    );
    check(
        lock_alu_mr(Alu::And, true, m, Rax),
        "f0 48 21 47 08",
        "lock and [rdi+8], rax",
    );
    check(
        lock_alu_mr(Alu::Xor, false, m, Rdx),
        "f0 31 57 08",
        "lock xor [rdi+8], edx",
    );
    check(
        lock_xadd(true, m, Rsi),
        "f0 48 0f c1 77 08",
        "lock xadd [rdi+8], rsi",
    );
    check(
        lock_cmpxchg(false, Mem::at(R13, 0), R11),
        "f0 45 0f b1 5d 00",
        "lock cmpxchg [r13], r11d",
    );
    check(xchg_mr(true, m, Rbx), "48 87 5f 08", "xchg [rdi+8], rbx");
}

#[test]
fn control_flow() {
    check(jmp8(-2), "eb fe", "jmp short 0");
    check(jmp32(0), "e9 00 00 00 00", "jmp 5");
    check(jcc8(Cc::E, 0x10), "74 10", "je short 0000000000000012h");
    check(
        jcc32(Cc::G, 0x100),
        "0f 8f 00 01 00 00",
        "jg 0000000000000106h",
    );
    check(jcc8(Cc::B, 0), "72 00", "jb short 2");
    check(call32(0x20), "e8 20 00 00 00", "call 0000000000000025h");
    check(call_r(Rax), "ff d0", "call rax");
    check(call_r(R11), "41 ff d3", "call r11");
    check(jmp_r(Rax), "ff e0", "jmp rax");
    check(ret(), "c3", "ret");
    check(push(Rbx), "53", "push rbx");
    check(push(R12), "41 54", "push r12");
    check(pop(R15), "41 5f", "pop r15");
    check(pop(Rbp), "5d", "pop rbp");
    check(int3(), "cc", "int3");
}

#[test]
fn every_condition_code_round_trips() {
    let names = [
        "jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja", "js", "jns", "jp", "jnp", "jl", "jge",
        "jle", "jg",
    ];
    let ccs = [
        Cc::O,
        Cc::No,
        Cc::B,
        Cc::Ae,
        Cc::E,
        Cc::Ne,
        Cc::Be,
        Cc::A,
        Cc::S,
        Cc::Ns,
        Cc::P,
        Cc::Np,
        Cc::L,
        Cc::Ge,
        Cc::Le,
        Cc::G,
    ];
    for (cc, name) in ccs.into_iter().zip(names) {
        assert!(text(jcc8(cc, 0).bytes()).starts_with(name));
        assert!(text(jcc32(cc, 0).bytes()).starts_with(name));
    }
}

/// Every register as destination and source of a 64-bit move and as the
/// base of a load with each displacement class decodes to itself: catches
/// a REX bit or ModRM field in the wrong place for any register.
#[test]
fn every_register_in_every_slot() {
    let all = [
        Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
    ];
    let name = |g: Gpr| format!("{g:?}").to_lowercase();
    for &d in &all {
        for &s in &all {
            assert_eq!(
                text(mov_rr(true, d, s).bytes()),
                format!("mov {}, {}", name(d), name(s))
            );
        }
        for disp in [0i32, 0x10, -0x10, 0x100, -0x100] {
            for &b in &all {
                let t = text(load64(d, Mem::at(b, disp)).bytes());
                let want = match disp {
                    0 => format!("mov {}, [{}]", name(d), name(b)),
                    d2 if d2 > 0 => format!("mov {}, [{}+{:x}h]", name(d), name(b), d2),
                    d2 => format!("mov {}, [{}-{:x}h]", name(d), name(b), -d2),
                };
                assert_eq!(t, want);
            }
        }
    }
}
