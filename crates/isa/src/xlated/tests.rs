//! The forms our runtime's xlated streams take (helper ids, `call` with
//! the offset in `imm`), which the bpftool goldens (kernel streams) do not
//! show.

use super::*;

fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

/// `main`: map lookup through a helper id, a local call with the offset
/// in `imm`, exit; `sub` at slot 7.
fn program() -> Vec<RawInsn> {
    vec![
        r(0x18, 1, 1, 0, 5),  // 0: r1 = map[id:5]
        r(0, 0, 0, 0, 0),     // 1
        r(0xbf, 2, 10, 0, 0), // 2: r2 = r10
        r(0x07, 2, 0, 0, -4), // 3: r2 += -4
        r(0x85, 0, 0, 0, 1),  // 4: call bpf_map_lookup_elem#1
        r(0x85, 0, 1, 0, 1),  // 5: call pc+1
        r(0x95, 0, 0, 0, 0),  // 6: exit
        r(0xb7, 0, 0, 0, 0),  // 7: r0 = 0
        r(0x95, 0, 0, 0, 0),  // 8: exit
    ]
}

#[test]
fn runtime_stream_text() {
    let insns = program();
    let mut names = XlatedNames::default();
    let t = |pc, n: &XlatedNames| xlated_insn_text(&insns, pc, n);
    assert_eq!(t(0, &names), "(18) r1 = map[id:5]");
    assert_eq!(t(4, &names), "(85) call bpf_map_lookup_elem#1");
    assert_eq!(t(5, &names), "(85) call pc+1");
    names.jited = true;
    names
        .subprog_syms
        .insert(7, "bpf_prog_0123456789abcdef_sub".into());
    assert_eq!(t(5, &names), "(85) call pc+1#bpf_prog_0123456789abcdef_sub");
    // A helper id the table does not know: its address, as bpftool.
    let odd = [r(0x85, 0, 0, 0, 100_000)];
    assert_eq!(
        xlated_insn_text(&odd, 0, &XlatedNames::default()),
        "(85) call 0x186a0#100000"
    );
    // The verifier's scratch register and zero-extension.
    let ax = [
        r(0x07, 11, 0, 0, 1),
        r(0xbc, 0, 0, 0, 1),
        r(0x0f, 2, 11, 0, 0),
    ];
    let n = XlatedNames::default();
    assert_eq!(xlated_insn_text(&ax, 0, &n), "(07) r11 += 1");
    assert_eq!(xlated_insn_text(&ax, 1, &n), "(bc) w0 = w0");
    assert_eq!(xlated_insn_text(&ax, 2, &n), "(0f) r2 += r11");
}

#[test]
fn plain_with_func_line_and_opcodes() {
    let insns = program();
    let names = XlatedNames::default();
    let funcs = [
        FuncProto {
            insn_off: 0,
            proto: "int main(void * ctx)".into(),
        },
        FuncProto {
            insn_off: 7,
            proto: "int sub()".into(),
        },
    ];
    let lines = [SourceLine {
        insn_off: 7,
        file: "a.c".into(),
        src: "\treturn 0;".into(),
        line: 9,
        col: 2,
    }];
    let p = XlatedProgram {
        insns: &insns,
        funcs: &funcs,
        lines: &lines,
        names: &names,
    };
    let out = dump_plain(
        &p,
        XlatedOptions {
            opcodes: true,
            linum: true,
        },
    );
    let want = "\
int main(void * ctx):
   0: (18) r1 = map[id:5]
       18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00
   2: (bf) r2 = r10
       bf a2 00 00 00 00 00 00
   3: (07) r2 += -4
       07 02 00 00 fc ff ff ff
   4: (85) call bpf_map_lookup_elem#1
       85 00 00 00 01 00 00 00
   5: (85) call pc+1
       85 10 00 00 01 00 00 00
   6: (95) exit
       95 00 00 00 00 00 00 00
int sub():
; return 0; [file:a.c line_num:9 line_col:2]
   7: (b7) r0 = 0
       b7 00 00 00 00 00 00 00
   8: (95) exit
       95 00 00 00 00 00 00 00
";
    assert_eq!(out, want);
    let json = dump_json_string(&p, XlatedOptions::default());
    assert!(json
        .starts_with("[{\"proto\":\"int main(void * ctx)\",\"disasm\":\"(18) r1 = map[id:5]\"},"));
    let v = dump_json(&p, XlatedOptions::default());
    assert_eq!(v[6]["src"], "return 0;");
    assert_eq!(v.as_array().map(Vec::len), Some(8));
}

#[test]
fn visual_splits_functions_and_blocks() {
    let insns = program();
    let names = XlatedNames::default();
    let p = XlatedProgram {
        insns: &insns,
        funcs: &[],
        lines: &[],
        names: &names,
    };
    let dot = dump_visual(&p);
    assert!(dot.starts_with("digraph \"DOT graph for eBPF program\" {\nsubgraph \"cluster_0\" {"));
    assert!(dot.contains("subgraph \"cluster_1\" {"));
    // The callee's instructions are numbered from its own start.
    assert!(dot.contains("fn_1_bb_2 [shape=record,style=filled,label=\"{   0: (b7) r0 = 0\\l\\\n |    1: (95) exit\\l\\\n}\"];"));
    assert!(dot.contains("\tfn_0_bb_0:s -> fn_0_bb_2:n [style=\"solid,bold\", color=black, weight=10, constraint=true];"));
    assert!(dot.ends_with("}\n}\n"));
}

/// A long program with a block at every other slot and line info on every
/// slot renders in one pass (no quadratic lookups).
#[test]
fn long_programs_render() {
    let n = 100_000;
    let mut insns = Vec::with_capacity(n + 1);
    for i in 0..n {
        insns.push(if i % 2 == 0 {
            r(0x15, 0, 0, 1, 0) // if r0 == 0x0 goto pc+1
        } else {
            r(0x07, 0, 0, 0, 1) // r0 += 1
        });
    }
    insns.push(r(0x95, 0, 0, 0, 0));
    let lines: Vec<SourceLine> = (0..insns.len() as u32)
        .map(|i| SourceLine {
            insn_off: i,
            file: "a.c".into(),
            src: "x".into(),
            line: i,
            col: 1,
        })
        .collect();
    let names = XlatedNames::default();
    let p = XlatedProgram {
        insns: &insns,
        funcs: &[],
        lines: &lines,
        names: &names,
    };
    let opts = XlatedOptions::default();
    assert_eq!(dump_plain(&p, opts).lines().count(), 2 * insns.len());
    assert_eq!(
        dump_json(&p, opts).as_array().map(Vec::len),
        Some(insns.len())
    );
    let dot = dump_visual(&p);
    assert!(dot.contains(&format!("fn_0_bb_{} ", n + 1)));
}

#[test]
fn jited_function_names() {
    let insns = program();
    let names = XlatedNames::jited_functions(&insns, &[(0, "main"), (7, "sub")]);
    let tag = crate::tag::tag_hex(&crate::tag::prog_tag(&insns[7..]));
    assert_eq!(
        xlated_insn_text(&insns, 5, &names),
        format!("(85) call pc+1#bpf_prog_{tag}_sub")
    );
    assert_eq!(names.subprog_syms.len(), 2);
}
