//! Program listings for failure messages: slot index, raw bytes and the
//! decoded instruction, so a disagreement can be read and re-assembled.

use isa::Insn;
use std::fmt::Write;

/// One line per instruction: `pc: raw bytes  instruction`.
pub fn listing(insns: &[Insn]) -> String {
    let mut out = String::new();
    let mut pc = 0usize;
    for insn in insns {
        let raw = insn.encode();
        let hex: Vec<String> = raw
            .iter()
            .map(|r| {
                r.to_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let _ = writeln!(out, "{pc:4}: {}  {insn:?}", hex.join(" | "));
        pc += raw.len();
    }
    out
}
