//! `bpftool prog dump xlated visual`: the control-flow graph in DOT.
//!
//! bpftool 7.1 (`tools/bpf/bpftool/cfg.c`) splits the program into
//! functions at the targets of bpf-to-bpf calls, each function into basic
//! blocks at jump targets and after conditional jumps, and draws one
//! dashed cluster per function with an `ENTRY` and an `EXIT` diamond, one
//! record node per block and one edge per successor. Its quirks are kept,
//! because users diff this output: a block ending in `exit` falls through
//! to the next
//! block, instruction numbers restart at 0 in every function, functions
//! are numbered in the order calls discover them, and each instruction's
//! text goes through a 64-byte buffer before DOT escaping.

use super::{xlated_insn_text, XlatedProgram};
use crate::disasm::KernelNames;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use uapi::opcode::{BPF_PSEUDO_CALL, CALL, LDDW};

const BPF_JMP: u8 = 0x05;
const BPF_JMP32: u8 = 0x06;
const OP_JA: u8 = 0x00;
const OP_CALL: u8 = 0x80;
const OP_EXIT: u8 = 0x90;
const ENTRY: usize = 0;
const EXIT: usize = 1;

struct Func {
    idx: usize,
    start: usize,
    end: usize,
    /// Block heads, sorted; block `i` is numbered `i + 2`.
    heads: Vec<usize>,
}

fn is_jmp(code: u8) -> bool {
    matches!(code & 0x07, BPF_JMP | BPF_JMP32)
}

/// bpftool 7.1 draws blocks with a symbol table but without the jited
/// subprogram addresses: bpf-to-bpf calls print as `call pc+3` there.
struct GraphNames<'a>(&'a dyn KernelNames);

impl KernelNames for GraphNames<'_> {
    fn helper(&self, id: i32) -> Option<String> {
        self.0.helper(id)
    }
    fn kfunc(&self, btf_id: i32, module: i16) -> Option<String> {
        self.0.kfunc(btf_id, module)
    }
    fn local_call(&self, _pc: usize, rel: i32) -> Option<String> {
        Some(format!("{rel:+}"))
    }
    fn imm64(&self, pc: usize, imm: &crate::LoadImm) -> Option<String> {
        self.0.imm64(pc, imm)
    }
}

/// The slot a jump or call at `pc` with offset `off` lands on, if inside
/// `lo..=hi`.
fn target(pc: usize, off: i32, lo: usize, hi: usize) -> Option<usize> {
    let t = pc as i64 + 1 + off as i64;
    (t >= lo as i64 && t <= hi as i64).then_some(t as usize)
}

/// The relative offset of a bpf-to-bpf call, as in [`xlated_insn_text`].
fn call_rel(off: i16, imm: i32) -> i32 {
    if off != 0 {
        off as i32
    } else {
        imm
    }
}

fn functions(p: &XlatedProgram<'_>) -> Vec<Func> {
    let n = p.insns.len();
    // start -> discovery index.
    let mut found: BTreeMap<usize, usize> = BTreeMap::from([(0, 0)]);
    for (pc, r) in p.insns.iter().enumerate() {
        if r.code != CALL || r.src != BPF_PSEUDO_CALL {
            continue;
        }
        let Some(t) = target(pc, call_rel(r.off, r.imm), 0, n.saturating_sub(1)) else {
            continue;
        };
        let idx = found.len();
        found.entry(t).or_insert(idx);
    }
    let starts: Vec<(usize, usize)> = found.into_iter().collect();
    let mut funcs = Vec::with_capacity(starts.len());
    for (i, &(start, idx)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(n.saturating_sub(1), |s| s.0 - 1);
        let mut heads = BTreeSet::from([start]);
        let mut add = |h: usize| {
            heads.insert(h);
        };
        for pc in start..=end.min(n.saturating_sub(1)) {
            let r = p.insns[pc];
            let op = r.code & 0xf0;
            if !is_jmp(r.code) || op == OP_EXIT || op == OP_CALL {
                continue;
            }
            if let Some(t) = target(pc, r.off as i32, start, end) {
                add(t);
            }
            if op != OP_JA && pc < end {
                add(pc + 1);
            }
        }
        funcs.push(Func {
            idx,
            start,
            end,
            heads: heads.into_iter().collect(),
        });
    }
    funcs
}

/// bpftool's `print_insn_for_graph`: the text (with its newline) cut to
/// 63 bytes, newlines as left-justified DOT line breaks, record
/// separators escaped.
fn graph_text(out: &mut String, text: &str) {
    let mut line = format!("{text}\n");
    if line.len() > 63 {
        let mut cut = 63;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    for c in line.chars() {
        match c {
            '\n' => out.push_str("\\l\\\n"),
            '<' | '>' | '|' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

fn block_label(out: &mut String, p: &XlatedProgram<'_>, f: &Func, head: usize, tail: usize) {
    out.push('{');
    let mut lddw_tail = false;
    for pc in head..=tail {
        if lddw_tail {
            lddw_tail = false;
            continue;
        }
        lddw_tail = p.insns[pc].code == LDDW;
        let _ = write!(out, "{:4}: ", pc - f.start);
        graph_text(out, &xlated_insn_text(p.insns, pc, &GraphNames(p.names)));
        if pc != tail {
            out.push_str(" | ");
        }
    }
    out.push('}');
}

fn edge(out: &mut String, f: usize, from: usize, to: usize) {
    let _ = writeln!(
        out,
        "\tfn_{f}_bb_{from}:s -> fn_{f}_bb_{to}:n [style=\"solid,bold\", color=black, weight=10, constraint=true];"
    );
}

/// `bpftool prog dump xlated visual` (bpftool 7.1): a `digraph` with one
/// cluster per function. Instruction text comes from
/// [`xlated_insn_text`]; line info and `opcodes` are not shown (7.1 shows
/// neither in graphs). `bpftool -j ... visual` prints `null` instead.
pub fn dump_visual(p: &XlatedProgram<'_>) -> String {
    let mut out = String::from("digraph \"DOT graph for eBPF program\" {\n");
    if p.insns.is_empty() {
        out.push_str("}\n");
        return out;
    }
    for f in functions(p) {
        let fi = f.idx;
        let _ = write!(
            out,
            "subgraph \"cluster_{fi}\" {{\n\tstyle=\"dashed\";\n\tcolor=\"black\";\n\tlabel=\"func_{fi} ()\";\n"
        );
        let _ = write!(
            out,
            "\tfn_{fi}_bb_{ENTRY} [shape=Mdiamond,style=filled,label=\"ENTRY\"];\n\n"
        );
        let tails: Vec<usize> = (0..f.heads.len())
            .map(|i| f.heads.get(i + 1).map_or(f.end, |h| h - 1))
            .collect();
        for (i, (&head, &tail)) in f.heads.iter().zip(&tails).enumerate() {
            let _ = write!(
                out,
                "\tfn_{fi}_bb_{} [shape=record,style=filled,label=\"",
                i + 2
            );
            block_label(&mut out, p, &f, head, tail);
            out.push_str("\"];\n\n");
        }
        let _ = write!(
            out,
            "\tfn_{fi}_bb_{EXIT} [shape=Mdiamond,style=filled,label=\"EXIT\"];\n\n"
        );
        // Successors: ENTRY, then every block in order.
        edge(&mut out, fi, ENTRY, 2);
        let nb = f.heads.len();
        for (i, &tail) in tails.iter().enumerate() {
            let me = i + 2;
            let next = if i + 1 < nb { i + 3 } else { EXIT };
            let r = p.insns[tail];
            let op = r.code & 0xf0;
            let jump_to = || {
                target(tail, r.off as i32, f.start, f.end)
                    .and_then(|t| f.heads.binary_search(&t).ok())
                    .map(|b| b + 2)
            };
            if !is_jmp(r.code) || op == OP_EXIT {
                edge(&mut out, fi, me, next);
            } else if op == OP_JA {
                if let Some(b) = jump_to() {
                    edge(&mut out, fi, me, b);
                }
            } else {
                edge(&mut out, fi, me, next);
                if let Some(b) = jump_to() {
                    edge(&mut out, fi, me, b);
                }
            }
        }
        let _ = writeln!(
            out,
            "\tfn_{fi}_bb_{ENTRY}:s -> fn_{fi}_bb_{EXIT}:n [style=\"invis\", constraint=true];"
        );
        out.push_str("}\n");
    }
    out.push_str("}\n");
    out
}
