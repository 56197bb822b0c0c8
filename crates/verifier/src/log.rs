//! The verifier log, in the kernel's format.
//!
//! The kernel's log is a byte buffer with a few cursors, and its layout
//! follows from how they move: an instruction is printed as
//! `N: (code) text\n`; if the next thing printed is the state the
//! instruction changed, the newline is taken back and the state follows as a
//! comment aligned at column 40 (`; R0=1`). At level 1, when a path ends
//! safely the buffer is cut back to where the branch that is explored next
//! was pushed, so only the path to an error remains; on success everything
//! is cut. This module keeps the same cursors so that the same quirks come
//! out (a cut that lands after a comment's first padding byte leaves that
//! space behind, as in the kernel).

use crate::domain::scalar::fmt_snum;
use crate::input::MapMeta;
use crate::state::{Frame, PtrKind, RegState, State};

/// Log level bit: the path to the error.
pub const LEVEL1: u32 = 1;
/// Log level bit: every instruction's state.
pub const LEVEL2: u32 = 2;

/// The log buffer and its cursors.
#[derive(Debug, Default)]
pub struct Log {
    pub level: u32,
    pub buf: String,
    /// End of the last instruction's text (0: none since the last state).
    prev_log_pos: usize,
    /// Length of the last instruction's text, newline included.
    prev_insn_print_pos: usize,
    /// Registers of the current frame touched since the last state print.
    pub scratched_regs: u16,
    /// Stack slots of the current frame touched since the last print.
    pub scratched_stack: u64,
    /// The kernel's BTF, to name the structs BTF pointers point to.
    pub btf: Option<&'static btf::Btf>,
}

impl Log {
    pub fn new(level: u32) -> Log {
        Log {
            level,
            ..Log::default()
        }
    }

    /// Whether anything is logged at all.
    pub fn on(&self) -> bool {
        self.level & (LEVEL1 | LEVEL2) != 0
    }

    pub fn level2(&self) -> bool {
        self.level & LEVEL2 != 0
    }

    /// Append text.
    pub fn put(&mut self, s: &str) {
        if self.on() {
            self.buf.push_str(s);
        }
    }

    /// Current end position (for later [`Log::reset`]).
    pub fn pos(&self) -> usize {
        self.buf.len()
    }

    /// Cut the buffer back to `pos`.
    pub fn reset(&mut self, pos: usize) {
        if pos <= self.buf.len() {
            self.buf.truncate(pos);
        }
        if self.prev_log_pos > self.buf.len() {
            self.prev_log_pos = 0;
        }
    }

    pub fn scratch_reg(&mut self, r: usize) {
        self.scratched_regs |= 1 << r;
    }

    pub fn scratch_slot(&mut self, spi: usize) {
        if spi < 64 {
            self.scratched_stack |= 1 << spi;
        }
    }

    pub fn scratch_all(&mut self) {
        self.scratched_regs = u16::MAX;
        self.scratched_stack = u64::MAX;
    }

    pub fn is_scratched(&self) -> bool {
        self.scratched_regs != 0 || self.scratched_stack != 0
    }

    fn clean(&mut self) {
        self.scratched_regs = 0;
        self.scratched_stack = 0;
    }

    /// Print `N: (code) text` for the instruction about to be checked.
    pub fn insn(&mut self, pc: usize, text: &str) {
        let start = self.pos();
        self.put(&format!("{pc}: {text}\n"));
        self.prev_insn_print_pos = self.pos() - start;
        self.prev_log_pos = self.pos();
    }

    /// Print the scratched part of the current frame's state, as a comment
    /// on the previous instruction if nothing came in between, or as its own
    /// `N:` line.
    pub fn insn_state(&mut self, pc: usize, st: &State, maps: &[MapMeta]) {
        if self.prev_log_pos != 0 && self.prev_log_pos == self.pos() {
            self.reset(self.prev_log_pos - 1);
            let pad = alignment(self.prev_insn_print_pos);
            self.put(&" ".repeat(pad.max(1)));
            self.put(";");
        } else {
            self.put(&format!("{pc}:"));
        }
        self.state(st, false, maps);
        self.clean();
    }

    /// Print the innermost frame's state: every initialised register and
    /// written stack slot, or only the scratched ones.
    pub fn state(&mut self, st: &State, all: bool, maps: &[MapMeta]) {
        let f = st.cur();
        let mut s = String::new();
        if f.frameno != 0 {
            s.push_str(&format!(" frame{}:", f.frameno));
        }
        for (i, r) in f.regs.iter().enumerate() {
            if !r.is_init() || (!all && self.scratched_regs & (1 << i) == 0) {
                continue;
            }
            s.push_str(&format!(
                " R{i}={}",
                fmt_reg_btf(r, f.frameno, maps, self.btf)
            ));
        }
        for (spi, slot) in f.stack.slots.iter().enumerate() {
            if !all && (spi >= 64 || self.scratched_stack & (1 << spi) == 0) {
                continue;
            }
            if slot.is_invalid() {
                continue;
            }
            let off = -8 * (spi as i64 + 1);
            let types: String = if slot.is_spill() {
                slot.bytes
                    .iter()
                    .take_while(|b| **b != crate::state::ByteKind::Spill)
                    .map(|b| b.ch())
                    .collect()
            } else {
                slot.bytes.iter().map(|b| b.ch()).collect()
            };
            s.push_str(&format!(" fp{off}={types}"));
            if slot.is_spill() {
                s.push_str(&fmt_reg_btf(&slot.spilled, f.frameno, maps, self.btf));
            }
        }
        if !st.refs.is_empty() {
            let ids: Vec<String> = st.refs.iter().map(|r| r.id.to_string()).collect();
            s.push_str(&format!(" refs={}", ids.join(",")));
        }
        if f.callback.is_some() {
            // A callback in frame 0 is a timer's: it runs on its own.
            s.push_str(if f.frameno == 0 { " async_cb" } else { " cb" });
        }
        s.push('\n');
        self.put(&s);
    }

    /// `from A to B:` and the full state, at level 2, when a branch starts.
    pub fn from_to(&mut self, from: usize, to: usize, st: &State, maps: &[MapMeta]) {
        self.put(&format!("\nfrom {from} to {to}:"));
        self.state(st, true, maps);
    }
}

/// Padding that puts the `;` of a state comment at column 40 (or the next
/// multiple of 8 after a long instruction).
fn alignment(pos: usize) -> usize {
    let target = (pos + 4).max(40);
    let rounded = target.div_ceil(8) * 8;
    rounded.saturating_sub(pos + 1)
}

/// A register as the kernel prints it: `0`, `ctx()`, `fp-8`,
/// `map_value(id=1,ks=4,vs=8)`, `scalar(smin=…)`.
pub fn fmt_reg(r: &RegState, frameno: u32, maps: &[MapMeta]) -> String {
    fmt_reg_btf(r, frameno, maps, None)
}

/// [`fmt_reg`], naming the struct of a BTF pointer as the kernel does
/// (`trusted_ptr_task_struct(…)`).
pub fn fmt_reg_btf(r: &RegState, frameno: u32, maps: &[MapMeta], btf: Option<&btf::Btf>) -> String {
    match r {
        RegState::NotInit => "?".into(),
        RegState::Scalar(s) => {
            if let Some(c) = s.val.as_const() {
                return fmt_snum(c as i64);
            }
            let mut parts = Vec::new();
            if s.id != 0 {
                parts.push(format!("id={}", s.id));
            }
            s.val.fmt_ranges(&mut parts);
            format!("scalar({})", parts.join(","))
        }
        RegState::Ptr(p) => {
            let mut out = String::from(p.kind.name());
            if let (PtrKind::BtfId { id, .. }, Some(b)) = (p.kind, btf) {
                out.push_str(b.type_name(id).unwrap_or(""));
            }
            if let PtrKind::Stack { frame } = p.kind {
                if frame != frameno {
                    out.push_str(&format!("[{frame}]"));
                }
                if let Some(c) = p.var.as_const() {
                    out.push_str(&(c as i64 + p.off as i64).to_string());
                    return out;
                }
            }
            let mut parts = Vec::new();
            if p.id != 0 {
                parts.push(format!("id={}", p.id));
            }
            if p.ref_obj_id != 0 {
                parts.push(format!("ref_obj_id={}", p.ref_obj_id));
            }
            if let Some(m) = p.kind.map().and_then(|m| maps.get(m as usize)) {
                if !m.name.is_empty() {
                    parts.push(format!("map={}", m.name));
                }
                parts.push(format!("ks={},vs={}", m.key_size, m.value_size));
            }
            if p.off != 0 {
                parts.push(format!("off={}", p.off));
            }
            match p.kind {
                PtrKind::Packet { range } | PtrKind::PacketMeta { range } => {
                    parts.push(format!("r={range}"))
                }
                PtrKind::Mem { size, .. } => parts.push(format!("sz={size}")),
                PtrKind::UntrustedMem => parts.push("sz=0".into()),
                _ => {}
            }
            match p.var.as_const() {
                Some(0) => {}
                Some(v) => parts.push(format!("imm={v:x}")),
                None => p.var.fmt_ranges(&mut parts),
            }
            out.push('(');
            out.push_str(&parts.join(","));
            out.push(')');
            out
        }
    }
}

/// The frame's regs, for debugging.
#[allow(dead_code)]
pub fn fmt_frame(f: &Frame, maps: &[MapMeta]) -> String {
    f.regs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_init())
        .map(|(i, r)| format!("R{i}={}", fmt_reg(r, f.frameno, maps)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_alignment_matches_kernel() {
        // "0: (b7) r0 = 0\n" is 15 bytes: the ';' lands at column 38.
        assert_eq!(alignment(15), 24);
        assert_eq!(alignment(29), 10);
        let mut log = Log::new(2);
        log.insn(0, "(b7) r0 = 0");
        let mut st = State::entry(RegState::ptr(PtrKind::Ctx));
        st.cur_mut().regs[0] = RegState::scalar(crate::domain::Scalar::constant(0));
        log.scratch_reg(0);
        log.insn_state(1, &st, &[]);
        assert_eq!(log.buf, "0: (b7) r0 = 0                        ; R0=0\n");
    }
}
