//! Legacy packet loads (`BPF_LD | BPF_ABS/BPF_IND`): `r0 = ntoh(*(size *)
//! (packet + k))`, the program ending with `r0 = 0` when out of bounds.
//!
//! The fast path is inline: the offset `k` (an `int`, as in the kernel: for
//! `BPF_IND` the 32-bit sum of the index register and the immediate, sign-
//! extended) in `r11`, two unsigned compares against the packet length the
//! run context caches, a load and a byte swap. Negative offsets (relative
//! to the link-layer or network header) and misses go to a cold stub that
//! asks the runtime, which reads the environment as the interpreter does.

use super::regs::{bpf, CTX, SCRATCH_A, SCRATCH_B};
use super::stubs::Stub;
use super::Gen;
use crate::runtime::{OFF_PKT_LEN, OFF_PKT_START};
use crate::x86::{self, Alu, Cc, Gpr, Mem, OpSize, Shift};
use isa::{PacketMode, Size};

const RAX: Gpr = Gpr::Rax;

impl Gen<'_, '_> {
    pub(super) fn packet_load(&mut self, mode: PacketMode, size: Size, imm: i32) {
        let bytes = size.bytes().min(4) as u8;
        // k = imm, or (int)(ind + imm); sign-extended to 64 bits in r11.
        match mode {
            PacketMode::Abs if self.blinding() => {
                self.load_imm(SCRATCH_A, imm as i64 as u64);
            }
            PacketMode::Abs => self.e(x86::mov_r64_si32(SCRATCH_A, imm)),
            PacketMode::Ind(r) => {
                if self.blinding() {
                    // First: un-blinding r10 borrows r11.
                    self.load_imm(SCRATCH_B, imm as u32 as u64);
                    self.e(x86::mov_rr(false, SCRATCH_A, bpf(r)));
                    self.e(x86::alu_rr(Alu::Add, false, SCRATCH_A, SCRATCH_B));
                } else {
                    self.e(x86::mov_rr(false, SCRATCH_A, bpf(r)));
                    self.e(x86::alu_ri(Alu::Add, false, SCRATCH_A, imm));
                }
                self.e(x86::movsx_rr(OpSize::B32, true, SCRATCH_A, SCRATCH_A));
            }
        }
        let slow = self.label();
        let done = self.label();
        // r10 = len - k; unsigned: k > len (negative k included) borrows.
        self.e(x86::load64(SCRATCH_B, Mem::at(CTX, OFF_PKT_LEN)));
        self.e(x86::alu_rr(Alu::Sub, true, SCRATCH_B, SCRATCH_A));
        self.buf.jcc(Cc::B, slow);
        self.e(x86::alu_ri(Alu::Cmp, true, SCRATCH_B, bytes as i32));
        self.buf.jcc(Cc::B, slow);
        self.e(x86::alu_rm(
            Alu::Add,
            true,
            SCRATCH_A,
            Mem::at(CTX, OFF_PKT_START),
        ));
        let at = Mem::at(SCRATCH_A, 0);
        match bytes {
            1 => self.e(x86::load_zx(OpSize::B8, RAX, at)),
            2 => {
                self.e(x86::load_zx(OpSize::B16, RAX, at));
                self.e(x86::shift_ri(Shift::Rol, OpSize::B16, RAX, 8));
            }
            _ => {
                self.e(x86::load_zx(OpSize::B32, RAX, at));
                self.e(x86::bswap(false, RAX));
            }
        }
        self.bind(done);
        self.stubs.push(Stub::PacketSlow {
            label: slow,
            back: done,
            size: bytes,
        });
    }
}
