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

/// The code as `bpftool prog dump jited` prints a program's image (its
/// libbfd flavour, which prints GNU objdump's AT&T syntax): per
/// instruction `"%4x:\t"` with the offset into the image, the instruction
/// decoded at its real address `base + offset` (so branch and call targets
/// are absolute addresses, as bpftool shows them), and with `opcodes` a
/// second line `"\t"` followed by every byte as `"%02x "`.
///
/// objdump's number style: hexadecimal everywhere (`-0x8(%rbp)`, `$0x1`),
/// explicit scale (`(%r10,%r11,4)`), `0x0(...)` when a zero displacement is
/// encoded, operands starting at column 7. Unlike objdump, operandless
/// instructions carry no trailing padding.
pub fn dump_jited(code: &[u8], base: u64, opcodes: bool) -> String {
    let mut decoder = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    // One formatter per objdump habit that depends on the instruction:
    // a zero displacement shown when encoded, the scale shown when there
    // is an index register.
    let objdump = |zero_disp: bool, scale: bool| {
        let mut f = GasFormatter::new();
        let o = f.options_mut();
        o.set_uppercase_hex(false);
        o.set_small_hex_numbers_in_decimal(false);
        o.set_branch_leading_zeros(false);
        o.set_first_operand_char_index(7);
        o.set_always_show_scale(scale);
        o.set_show_zero_displacements(zero_disp);
        f
    };
    let mut formatters = [
        objdump(false, false),
        objdump(false, true),
        objdump(true, false),
        objdump(true, true),
    ];
    let mut out = String::new();
    let mut text = String::new();
    let mut insn = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut insn);
        let at = (insn.ip() - base) as usize;
        text.clear();
        let zero_disp = insn.memory_displ_size() > 0;
        let scale = insn.memory_index() != iced_x86::Register::None;
        formatters[2 * zero_disp as usize + scale as usize].format(&insn, &mut text);
        let _ = write!(out, "{at:4x}:\t{text}");
        if opcodes {
            out.push_str("\n\t");
            for b in code.get(at..at + insn.len()).unwrap_or(&[]) {
                let _ = write!(out, "{b:02x} ");
            }
        }
        out.push('\n');
    }
    out
}
