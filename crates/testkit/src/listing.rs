//! Program listings for failure messages, so that a disagreement can be
//! read, and re-assembled, straight from the test output.

use isa::disasm::{Dialect, DisasmOptions};
use isa::Insn;
use std::fmt::Write;

/// The `llvm-objdump`-style listing (slot, bytes, readable llvm-19 text,
/// which `isa::asm` reads back); falls back to bytes and the typed
/// instruction if the disassembler refuses a slot.
pub fn listing(insns: &[Insn]) -> String {
    let raw = isa::encode_program(insns);
    if let Ok(text) = isa::disasm::listing(&raw, DisasmOptions::new(Dialect::Llvm19)) {
        return text;
    }
    let mut out = String::new();
    let mut pc = 0usize;
    for insn in insns {
        let slots = insn.encode();
        let _ = writeln!(out, "{pc:4}: {}  {insn:?}", isa::disasm::hex_bytes(&slots));
        pc += slots.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use isa::Reg;

    #[test]
    fn lists_slots_with_text() {
        let text = listing(&[Insn::mov64_imm(Reg::R0, 2), Insn::Exit]);
        assert!(text.contains("b7 00 00 00 02 00 00 00"), "{text}");
        assert!(text.contains("r0 = 0x2"), "{text}");
        assert!(text.contains("exit"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
