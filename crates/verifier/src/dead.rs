//! Linux's dead-code passes for privileged loads, after verification:
//! conditional jumps with a side never taken become `ja` (always or never
//! jumping: `opt_hard_wire_dead_code_branches`), instructions no path
//! reached go (`opt_remove_dead_code`), then `ja +0` go
//! (`opt_remove_nops`). What `bpftool prog dump xlated` shows is the
//! result, and it is what the engines run: code behind a `.rodata` switch
//! costs nothing.
//!
//! Every removal is kept as `(offset, count)` in the numbering of the
//! moment, in the order the kernel applies them, so that line and function
//! info can be moved exactly as the kernel moves them
//! ([`adjust_line_info`], [`adjust_func_info`]).

use crate::input::{FuncInfo, LineInfo};
use isa::RawInsn;
use uapi::opcode::{
    BPF_CALL, BPF_EXIT, BPF_JA, BPF_JMP, BPF_JMP32, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, JA, JA32,
    LDDW,
};

/// A removal: `count` instructions at `offset`.
pub type Removal = (u32, u32);

fn class(code: u8) -> u8 {
    code & 0x07
}

fn op(code: u8) -> u8 {
    code & 0xf0
}

fn is_cond_jump(code: u8) -> bool {
    matches!(class(code), BPF_JMP | BPF_JMP32) && !matches!(op(code), BPF_JA | BPF_CALL | BPF_EXIT)
}

const NOP: RawInsn = RawInsn {
    code: JA,
    dst: 0,
    src: 0,
    off: 0,
    imm: 0,
};

/// The three passes over `insns`, whose instructions `seen` says were
/// reached; the program and its removals.
pub(crate) fn remove_dead(mut insns: Vec<RawInsn>, seen: &[bool]) -> (Vec<RawInsn>, Vec<Removal>) {
    let n = insns.len();
    // An `lddw`'s second slot lives and dies with it.
    let mut live = vec![false; n];
    for pc in 0..n {
        if seen.get(pc).copied().unwrap_or(false) {
            live[pc] = true;
            if insns[pc].code == LDDW && pc + 1 < n {
                live[pc + 1] = true;
            }
        }
    }
    for pc in 0..n {
        let i = insns[pc];
        if !live[pc] || !is_cond_jump(i.code) {
            continue;
        }
        let target = pc as i64 + 1 + i64::from(i.off);
        let off = if !live.get(pc + 1).copied().unwrap_or(false) {
            i.off
        } else if (0..n as i64).contains(&target) && !live[target as usize] {
            0
        } else {
            continue;
        };
        insns[pc] = RawInsn { off, ..NOP };
    }
    let mut removals = Vec::new();
    let insns = compact(insns, &live, &mut removals, false);
    let keep: Vec<bool> = insns.iter().map(|i| *i != NOP).collect();
    let insns = compact(insns, &keep, &mut removals, true);
    (insns, removals)
}

/// `insns` without those `keep` says to drop, branches retargeted; the
/// removals appended, as runs or one instruction at a time (`single`).
fn compact(
    insns: Vec<RawInsn>,
    keep: &[bool],
    removals: &mut Vec<Removal>,
    single: bool,
) -> Vec<RawInsn> {
    if keep.iter().all(|&k| k) {
        return insns;
    }
    let n = insns.len();
    // new_idx[i]: where instruction i goes, or for a dropped one where the
    // next kept one goes (a jump to it lands there, as in the kernel).
    let mut new_idx = vec![0i64; n + 1];
    let mut k = 0i64;
    for i in 0..n {
        new_idx[i] = k;
        if keep[i] {
            k += 1;
        }
    }
    new_idx[n] = k;
    let mut i = 0;
    while i < n {
        if keep[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !keep[i] {
            i += 1;
        }
        let at = new_idx[start] as u32;
        if single {
            removals.extend((start..i).map(|_| (at, 1)));
        } else {
            removals.push((at, (i - start) as u32));
        }
    }
    let moved = |from: usize, rel: i64| -> i64 {
        let t = (from as i64 + 1 + rel).clamp(0, n as i64) as usize;
        new_idx[t] - new_idx[from] - 1
    };
    let mut out = Vec::with_capacity(k as usize);
    for (pc, mut insn) in insns.into_iter().enumerate() {
        if !keep[pc] {
            continue;
        }
        let c = insn.code;
        if c == JA32 {
            insn.imm = moved(pc, i64::from(insn.imm)) as i32;
        } else if matches!(class(c), BPF_JMP | BPF_JMP32) && !matches!(op(c), BPF_CALL | BPF_EXIT) {
            insn.off = moved(pc, i64::from(insn.off)) as i16;
        } else if (op(c) == BPF_CALL && class(c) == BPF_JMP && insn.src == BPF_PSEUDO_CALL)
            || (c == LDDW && insn.src == BPF_PSEUDO_FUNC)
        {
            insn.imm = moved(pc, i64::from(insn.imm)) as i32;
        }
        out.push(insn);
    }
    out
}

/// Line info after the removals (`bpf_adj_linfo_after_remove`): lines of
/// removed instructions go, except that the first instruction after a
/// removed run inherits the run's last line when it has none of its own.
/// `len` is the program's length after all removals.
pub fn adjust_line_info(lines: &mut Vec<LineInfo>, removals: &[Removal], len: usize) {
    let total: u32 = removals.iter().map(|r| r.1).sum();
    let mut prog_len = len as u32 + total;
    for &(off, cnt) in removals {
        prog_len -= cnt;
        let first = lines
            .iter()
            .position(|l| l.insn_off >= off)
            .unwrap_or(lines.len());
        let mut i = first;
        while i < lines.len() && lines[i].insn_off < off + cnt {
            i += 1;
        }
        let mut l_cnt = i - first;
        if prog_len != off && l_cnt > 0 && (i == lines.len() || lines[i].insn_off != off + cnt) {
            l_cnt -= 1;
            i -= 1;
            lines[i].insn_off = off + cnt;
        }
        lines.drain(first..first + l_cnt);
        for l in &mut lines[first..] {
            l.insn_off -= cnt;
        }
    }
}

/// Function info after the removals (`adjust_subprog_starts_after_remove`):
/// functions wholly removed go, those starting after a removal move up, and
/// one whose first instructions were removed keeps its start. `len` as for
/// [`adjust_line_info`].
pub fn adjust_func_info(funcs: &mut Vec<FuncInfo>, removals: &[Removal], len: usize) {
    let total: u32 = removals.iter().map(|r| r.1).sum();
    let mut prog_len = len as u32 + total;
    for &(off, cnt) in removals {
        // Starts, with the end of the program as a last, fake one.
        let start = |f: &[FuncInfo], k: usize| f.get(k).map_or(prog_len, |x| x.insn_off);
        let count = funcs.len();
        let mut i = (0..count)
            .find(|&k| funcs[k].insn_off >= off)
            .unwrap_or(count);
        let mut j = (i..=count)
            .find(|&k| start(funcs, k) >= off + cnt)
            .unwrap_or(count);
        if start(funcs, j) != off + cnt {
            j = j.saturating_sub(1);
        }
        if j > i {
            funcs.drain(i..j.min(count));
        } else if i < count && funcs[i].insn_off == off {
            i += 1;
        }
        for f in funcs.iter_mut().skip(i) {
            f.insn_off -= cnt;
        }
        prog_len -= cnt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(off: u32) -> LineInfo {
        LineInfo {
            insn_off: off,
            file: String::new(),
            line: off,
            col: 0,
            text: String::new(),
        }
    }

    #[test]
    fn a_removed_run_hands_its_last_line_to_the_next_instruction() {
        // 10 instructions, lines at 0, 3, 4, 8; remove 3..6 (3 insns).
        let mut l = vec![line(0), line(3), line(4), line(8)];
        adjust_line_info(&mut l, &[(3, 3)], 7);
        let got: Vec<(u32, u32)> = l.iter().map(|x| (x.insn_off, x.line)).collect();
        // The line of insn 4 now starts at the first live one (old 6 → 3).
        assert_eq!(got, vec![(0, 0), (3, 4), (5, 8)]);
    }

    #[test]
    fn a_line_of_its_own_after_the_run_wins() {
        let mut l = vec![line(0), line(3), line(6)];
        adjust_line_info(&mut l, &[(3, 3)], 7);
        let got: Vec<(u32, u32)> = l.iter().map(|x| (x.insn_off, x.line)).collect();
        assert_eq!(got, vec![(0, 0), (3, 6)]);
    }

    #[test]
    fn wholly_removed_functions_go() {
        let f = |off: u32, name: &str| FuncInfo {
            insn_off: off,
            name: name.into(),
        };
        // main 0..5, dead 5..8, live 8..12: remove 5..8.
        let mut funcs = vec![f(0, "main"), f(5, "dead"), f(8, "live")];
        adjust_func_info(&mut funcs, &[(5, 3)], 9);
        let got: Vec<(u32, &str)> = funcs
            .iter()
            .map(|x| (x.insn_off, x.name.as_str()))
            .collect();
        assert_eq!(got, vec![(0, "main"), (5, "live")]);
        // Only the head of a function removed: it keeps its start.
        let mut funcs = vec![f(0, "main"), f(5, "g")];
        adjust_func_info(&mut funcs, &[(5, 2)], 8);
        let got: Vec<(u32, &str)> = funcs
            .iter()
            .map(|x| (x.insn_off, x.name.as_str()))
            .collect();
        assert_eq!(got, vec![(0, "main"), (5, "g")]);
    }

    #[test]
    fn branches_are_retargeted_and_dead_sides_hard_wired() {
        let ins = |code: u8, off: i16, imm: i32| RawInsn {
            code,
            dst: 1,
            src: 0,
            off,
            imm,
        };
        // 0: if r1 == 0 goto +2 (never taken: 1.. seen, 3 not)
        // 1: r0 = 1   2: exit   3: r0 = 2 (dead)   4: exit (dead)
        let jeq = uapi::opcode::BPF_JMP | 0x10 | uapi::opcode::BPF_K;
        let mov = 0xb7;
        let exit = uapi::opcode::EXIT;
        let prog = vec![
            ins(jeq, 2, 0),
            ins(mov, 0, 1),
            ins(exit, 0, 0),
            ins(mov, 0, 2),
            ins(exit, 0, 0),
        ];
        let seen = [true, true, true, false, false];
        let (out, removals) = remove_dead(prog, &seen);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].code, mov);
        assert_eq!(removals, vec![(3, 2), (0, 1)]);
    }
}
