//! Listings of generated code, in the style of `bpftool prog dump jited`:
//! one instruction a line, `offset:` and AT&T text, and with `opcodes` the
//! bytes on the line below.

use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, Instruction};
use std::fmt::Write;

/// Disassembles `code` (as if loaded at address 0).
pub fn disassemble(code: &[u8], opcodes: bool) -> String {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut f = GasFormatter::new();
    f.options_mut().set_uppercase_hex(false);
    f.options_mut().set_space_after_operand_separator(false);
    let mut out = String::new();
    let mut text = String::new();
    let mut insn = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut insn);
        text.clear();
        f.format(&insn, &mut text);
        let at = insn.ip() as usize;
        let _ = writeln!(out, "{at:4x}:\t{text}");
        if opcodes {
            let bytes = &code[at..at + insn.len()];
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(out, "\t{}", hex.join(" "));
        }
    }
    out
}
