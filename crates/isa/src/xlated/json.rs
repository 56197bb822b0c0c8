//! `bpftool -j` / `-p prog dump xlated`: bpftool's own JSON writer
//! (`json_writer.c`), emulated so the bytes match, key order, pretty
//! layout and quirks included.

use super::{insn_starts, is_lddw, ltrim, xlated_insn_text, Annotations};
use super::{XlatedOptions, XlatedProgram};
use std::fmt::Write as _;

/// The state machine of bpftool's `json_writer`: a separator owed before
/// the next value, the nesting depth, and whether to pretty-print (a new
/// line and four spaces per level before each member name and before the
/// closing bracket of a non-empty container; a space after `:`).
struct Writer {
    out: String,
    depth: usize,
    sep: bool,
    pretty: bool,
}

impl Writer {
    fn new(pretty: bool) -> Self {
        Writer {
            out: String::new(),
            depth: 0,
            sep: false,
            pretty,
        }
    }
    fn eol(&mut self) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
        }
    }
    fn eor(&mut self) {
        if self.sep {
            self.out.push(',');
        }
        self.sep = true;
    }
    fn begin(&mut self, c: char) {
        self.eor();
        self.out.push(c);
        self.depth += 1;
        self.sep = false;
    }
    fn end(&mut self, c: char) {
        self.depth = self.depth.saturating_sub(1);
        if self.sep {
            self.eol();
        }
        self.out.push(c);
        self.sep = true;
    }
    fn name(&mut self, name: &str) {
        self.eor();
        self.eol();
        self.sep = false;
        quote(&mut self.out, name);
        self.out.push(':');
        if self.pretty {
            self.out.push(' ');
        }
    }
    /// A value printed as is (`jsonw_printf`, `jsonw_vprintf_enquote`).
    fn raw(&mut self, text: &str) {
        self.eor();
        self.out.push_str(text);
    }
    fn string(&mut self, s: &str) {
        self.eor();
        quote(&mut self.out, s);
    }
    /// `print_hex_data_json`: an array of `"0x%02hhx"` strings.
    fn hex_bytes(&mut self, bytes: &[u8]) {
        self.begin('[');
        for b in bytes {
            let mut s = String::new();
            let _ = write!(s, "\"0x{b:02x}\"");
            self.raw(&s);
        }
        self.end(']');
    }
}

/// `jsonw_puts`: the escapes of bpftool's json_writer.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            '\x08' => out.push_str("\\b"),
            // bpftool 7.1's json_writer turns a backslash into `\n`
            // (backslash, n); kept, so that our output diffs clean.
            '\\' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_dump(p: &XlatedProgram<'_>, opts: XlatedOptions, pretty: bool) -> String {
    let mut w = Writer::new(pretty);
    w.begin('[');
    let notes = Annotations::new(p);
    for pc in insn_starts(p.insns) {
        w.begin('{');
        if let Some(f) = notes.func(pc) {
            w.name("proto");
            w.string(&f.proto);
        }
        if let Some(l) = notes.line(pc) {
            w.name("src");
            w.string(ltrim(&l.src));
            if opts.linum {
                w.name("file");
                w.string(&l.file);
                w.name("line_num");
                w.raw(&l.line.to_string());
                if l.col != 0 {
                    w.name("line_col");
                    w.raw(&l.col.to_string());
                }
            }
        }
        // The disasm text is printed unescaped, as bpftool does.
        w.name("disasm");
        w.raw(&format!("\"{}\"", xlated_insn_text(p.insns, pc, p.names)));
        if opts.opcodes {
            let raw = p.insns[pc];
            let bytes = raw.to_bytes();
            w.name("opcodes");
            w.begin('{');
            w.name("code");
            w.raw(&format!("\"0x{:02x}\"", raw.code));
            w.name("src_reg");
            w.raw(&format!("\"0x{:x}\"", raw.src));
            w.name("dst_reg");
            w.raw(&format!("\"0x{:x}\"", raw.dst));
            w.name("off");
            w.hex_bytes(&bytes[2..4]);
            w.name("imm");
            if is_lddw(p.insns, pc) && pc + 1 < p.insns.len() {
                let mut imm = bytes[4..8].to_vec();
                imm.extend_from_slice(&p.insns[pc + 1].to_bytes());
                w.hex_bytes(&imm);
            } else {
                w.hex_bytes(&bytes[4..8]);
            }
            w.end('}');
        }
        w.end('}');
    }
    w.end(']');
    w.out
}

/// `bpftool -j prog dump xlated [opcodes] [linum]`, byte for byte but for
/// the final newline bpftool adds: an array with one object per
/// instruction: `proto` (function start), `src` (source line), under
/// `linum` `file`, `line_num` and `line_col` (only when not 0), `disasm`,
/// and under `opcodes` `{code, src_reg, dst_reg, off, imm}` as hex strings
/// (`imm` of an `lddw` is 12 bytes: its own `imm` and the whole next slot).
pub fn dump_json_string(p: &XlatedProgram<'_>, opts: XlatedOptions) -> String {
    write_dump(p, opts, false)
}

/// `bpftool -p prog dump xlated ...`: the same, pretty-printed the way
/// bpftool's writer does it (but for the final newline).
pub fn dump_json_pretty(p: &XlatedProgram<'_>, opts: XlatedOptions) -> String {
    write_dump(p, opts, true)
}

/// [`dump_json_string`] as a JSON value, for callers that embed it.
/// (`serde_json` sorts object keys unless built with `preserve_order`; the
/// string forms keep bpftool's order.)
pub fn dump_json(p: &XlatedProgram<'_>, opts: XlatedOptions) -> serde_json::Value {
    // The writer escapes every string it emits and the disasm text holds no
    // quote or backslash, so this parses; `Null` is only a guard.
    serde_json::from_str(&dump_json_string(p, opts)).unwrap_or(serde_json::Value::Null)
}
