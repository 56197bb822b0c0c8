//! Listings of generated code, in the style of `bpftool prog dump jited`:
//! one instruction a line, `offset:` and AT&T text (what bpftool prints
//! through its disassembler), and with `opcodes` the bytes on the line
//! below.

use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter, Instruction};
use std::fmt::Write;

/// Disassembles `code` (as if loaded at address 0).
pub fn disassemble(code: &[u8], opcodes: bool) -> String {
    disassemble_annotated(code, opcodes, &[])
}

/// [`disassemble`], with `notes` (offset, text) printed as `; text` lines
/// before the instruction at that offset — e.g. the BPF instruction whose
/// code starts there. `notes` must be sorted by offset.
pub fn disassemble_annotated(code: &[u8], opcodes: bool, notes: &[(u32, String)]) -> String {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut f = GasFormatter::new();
    f.options_mut().set_uppercase_hex(false);
    let mut out = String::new();
    let mut text = String::new();
    let mut insn = Instruction::default();
    let mut next_note = 0;
    while decoder.can_decode() {
        decoder.decode_out(&mut insn);
        let at = insn.ip() as usize;
        while let Some((off, note)) = notes.get(next_note) {
            if *off as usize > at {
                break;
            }
            let _ = writeln!(out, "; {note}");
            next_note += 1;
        }
        text.clear();
        f.format(&insn, &mut text);
        let _ = writeln!(out, "{at:4x}:\t{text}");
        if opcodes {
            let bytes = code.get(at..at + insn.len()).unwrap_or(&[]);
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(out, "\t{}", hex.join(" "));
        }
    }
    out
}
