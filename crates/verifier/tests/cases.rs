//! Verifier cases as data files: `tests/cases/*.txt`.
//!
//! Each file holds cases separated by `== name` lines. Lines starting with
//! `@` set the program type, maps, options and the expectation; every other
//! line is assembly (llvm syntax, labels allowed), with three conveniences:
//! `rN = map[K]` loads map K (its fd is K), `rN = map_value[K] + OFF` a
//! pointer into its value, `rN = func LABEL` a subprogram's address.
//!
//! ```text
//! == uninitialised r0
//! @type xdp
//! @reject R0 !read_ok
//! exit
//! ```
//!
//! Directives: `@type NAME`, `@attach NAME`, `@map K TYPE KEY VALUE MAX
//! [flags=N] [lock=OFF] [timer=OFF] [inner=TYPE:KEY:VALUE:MAX] [frozen] [name=S]`,
//! `@opt allow_uninit_stack`, `@accept`, `@reject MESSAGE` (the first line
//! of the message, exactly), `@log LINE` (a line the level-2 log must
//! contain), `@kernel accept|reject` (the real kernel's verdict when it
//! differs from ours, e.g. because root may read uninitialised stack),
//! `@attach_btf NAME` (the vmlinux typedef or function a tracing program
//! attaches to: `btf_trace_<tracepoint>`, `bpf_iter_<target>`),
//! `@vmlinux` (the request carries the kernel's BTF), `@global N ARGS` (subprogram N is a global function, see [`Case`]),
//! `@func_info` (the oracle gives the kernel BTF func info, which it needs
//! for programs that take a function's address).
//!
//! With `KERNEL_ORACLE=/path/to/kload` (built from `tools/kload.c`, run as
//! root), every case is also loaded into the running kernel and the verdicts
//! and messages are compared; `ORACLE_STRICT=1` makes disagreements fail.

use isa::{CallTarget, Insn, LoadImm, RawInsn};
use oxbpf_verifier::{verify, MapMeta, Options, Request};
use std::collections::BTreeMap;
use std::path::Path;
use uapi::{AttachType, MapType, ProgType};

#[derive(Debug, Clone)]
struct Case {
    file: String,
    name: String,
    prog_type: ProgType,
    attach: Option<AttachType>,
    maps: BTreeMap<i32, MapMeta>,
    opts: Options,
    expect: Option<Result<(), String>>,
    logs: Vec<String>,
    kernel: Option<bool>,
    /// `@attach_btf NAME`: the vmlinux type (typedef or function) a
    /// tracing program attaches to.
    attach_btf: Option<String>,
    /// `@vmlinux`: the request carries the kernel's BTF (for helpers that
    /// return kernel objects), without an attach target.
    vmlinux: bool,
    /// `@func_info`: the oracle loads the program with BTF func info (the
    /// kernel wants it once a program takes a function's address).
    func_info: bool,
    /// `@global N ARGS`: subprogram N (1 = the first after the main one)
    /// is a global function taking ARGS (`int`, `ctx`, `memSIZE`, `void*`,
    /// comma separated, or `void`; `!TAG` after an argument adds the
    /// `arg:TAG` declaration tag, as `__arg_ctx` and friends do); the case
    /// gets program BTF and func info.
    globals: Vec<(usize, Vec<String>)>,
    asm: Vec<String>,
}

fn parse_map(words: &[&str]) -> (i32, MapMeta) {
    let k: i32 = words[0].parse().expect("map index");
    let t = MapType::from_name(words[1]).unwrap_or_else(|| panic!("map type {}", words[1]));
    let n = |i: usize| words[i].parse::<u32>().expect("map number");
    let mut m = MapMeta::new(t, n(2), n(3), n(4));
    for w in &words[5..] {
        if let Some(v) = w.strip_prefix("flags=") {
            m.flags = v.parse().expect("flags");
        } else if let Some(v) = w.strip_prefix("lock=") {
            m.spin_lock_off = Some(v.parse().expect("lock"));
        } else if let Some(v) = w.strip_prefix("timer=") {
            m.timer_off = Some(v.parse().expect("timer"));
        } else if let Some(v) = w.strip_prefix("name=") {
            m.name = v.to_string();
        } else if *w == "frozen" {
            m.frozen = true;
        } else if let Some(v) = w.strip_prefix("inner=") {
            let p: Vec<&str> = v.split(':').collect();
            let (_, inner) = parse_map(&["0", p[0], p[1], p[2], p[3]]);
            m.inner = Some(Box::new(inner));
        } else {
            panic!("map option {w}");
        }
    }
    (k, m)
}

fn parse_file(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).expect("read case file");
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            cases.extend(cur.take());
            cur = Some(Case {
                file: file.clone(),
                name: name.trim().to_string(),
                prog_type: ProgType::Xdp,
                attach: None,
                maps: BTreeMap::new(),
                opts: Options::default(),
                expect: None,
                logs: Vec::new(),
                kernel: None,
                attach_btf: None,
                func_info: false,
                vmlinux: false,
                globals: Vec::new(),
                asm: Vec::new(),
            });
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        let t = line.trim();
        if let Some(d) = t.strip_prefix('@') {
            let (key, rest) = d.split_once(' ').unwrap_or((d, ""));
            let rest = rest.trim();
            match key {
                "type" => {
                    c.prog_type = ProgType::from_name(rest).unwrap_or_else(|| panic!("type {rest}"))
                }
                "attach" => c.attach = Some(AttachType::from_name(rest).expect("attach")),
                "map" => {
                    let w: Vec<&str> = rest.split_whitespace().collect();
                    let (k, m) = parse_map(&w);
                    c.maps.insert(k, m);
                }
                "opt" => match rest {
                    "allow_uninit_stack" => c.opts.allow_uninit_stack = true,
                    o => panic!("option {o}"),
                },
                "accept" => c.expect = Some(Ok(())),
                "reject" => c.expect = Some(Err(rest.to_string())),
                "log" => c.logs.push(rest.to_string()),
                "kernel" => c.kernel = Some(rest == "accept"),
                "attach_btf" => c.attach_btf = Some(rest.to_string()),
                "func_info" => c.func_info = true,
                "vmlinux" => c.vmlinux = true,
                "global" => {
                    let (n, args) = rest.split_once(' ').unwrap_or((rest, "void"));
                    let args = match args.trim() {
                        "void" => Vec::new(),
                        a => a.split(',').map(|s| s.trim().to_string()).collect(),
                    };
                    c.globals.push((n.parse().expect("@global N"), args));
                }
                k => panic!("{}: unknown directive @{k}", c.name),
            }
        } else {
            c.asm.push(line.to_string());
        }
    }
    cases.extend(cur);
    cases
}

/// Marker for `rN = func LABEL`: assembled as `call LABEL; goto +32000`,
/// then replaced by the two slots of `lddw rN, func`.
const FUNC_MARK: i16 = 32000;

fn assemble(c: &Case) -> Vec<RawInsn> {
    let mut text = String::new();
    let mut func_dsts = Vec::new();
    for l in &c.asm {
        let t = l.trim();
        if let Some((lhs, rhs)) = t.split_once('=') {
            let rhs = rhs.trim();
            let dst = lhs.trim();
            if let Some(k) = rhs.strip_prefix("map[").and_then(|r| r.strip_suffix(']')) {
                text.push_str(&format!("ld_pseudo {dst}, 1, {k}\n"));
                continue;
            }
            if let Some(r) = rhs.strip_prefix("map_value[") {
                let (k, off) = r.split_once(']').expect("map_value[K]");
                let off = off.trim().trim_start_matches('+').trim();
                let off = if off.is_empty() { "0" } else { off };
                text.push_str(&format!("ld_pseudo {dst}, 2, {k}, {off}\n"));
                continue;
            }
            if let Some(label) = rhs.strip_prefix("func ") {
                func_dsts.push(dst.trim_start_matches('r').parse::<u8>().expect("func dst"));
                text.push_str(&format!("call {}\ngoto +{FUNC_MARK}\n", label.trim()));
                continue;
            }
        }
        text.push_str(l);
        text.push('\n');
    }
    let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm)
        .unwrap_or_else(|e| panic!("{}: {}: assembly error {e}\n{text}", c.file, c.name));
    let mut out = insns.clone();
    let mut k = 0;
    for i in 0..insns.len().saturating_sub(1) {
        let a = Insn::decode(&insns, i);
        let b = Insn::decode(&insns, i + 1);
        if let (Ok(Insn::Call(CallTarget::Local { rel })), Ok(Insn::Ja { off, .. })) = (a, b) {
            if off == FUNC_MARK as i32 {
                let dst = isa::Reg::new(func_dsts[k]).expect("reg");
                k += 1;
                let l = Insn::LoadImm64 {
                    dst,
                    imm: LoadImm::Func { rel },
                }
                .encode();
                out[i] = l[0];
                out[i + 1] = l[1];
            }
        }
    }
    out
}

fn all_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| parse_file(f)).collect()
}

/// Subprogram starts as the kernel finds them: 0, local call targets and
/// function-address `lddw` targets.
fn subprog_starts(raw: &[RawInsn]) -> Vec<u32> {
    let mut starts = vec![0u32];
    let mut i = 0;
    while i < raw.len() {
        let t = match Insn::decode(raw, i) {
            Ok(Insn::Call(CallTarget::Local { rel })) => Some(i as i64 + 1 + rel as i64),
            Ok(Insn::LoadImm64 {
                imm: LoadImm::Func { rel },
                ..
            }) => Some(i as i64 + 1 + rel as i64),
            _ => None,
        };
        if let Some(t) = t.filter(|&t| t > 0) {
            if !starts.contains(&(t as u32)) {
                starts.push(t as u32);
            }
        }
        i += if matches!(Insn::decode(raw, i), Ok(Insn::LoadImm64 { .. })) {
            2
        } else {
            1
        };
    }
    starts.sort();
    starts
}

/// Program BTF for a case with `@global`: `int` and a `FUNC` per
/// subprogram (`int fN(void)`, static, unless declared global with its
/// arguments); with the func info records `(insn_off, FUNC id)`.
fn case_prog_btf(c: &Case, raw: &[RawInsn]) -> (Vec<u8>, Vec<(u32, u32)>) {
    let mut strs: Vec<u8> = b"\0int\0".to_vec();
    let name = |s: &str, strs: &mut Vec<u8>| {
        let off = strs.len() as u32;
        strs.extend_from_slice(s.as_bytes());
        strs.push(0);
        off
    };
    let mut types: Vec<u32> = Vec::new();
    // [1] int, [2] int (void)
    types.extend([1, 1 << 24, 4, (1 << 24) | 32]);
    types.extend([0, 13 << 24, 1]);
    let mut next_id = 3u32;
    let ctx_name = match c.prog_type {
        ProgType::Xdp => "xdp_md",
        _ => "__sk_buff",
    };
    // Pointer types by argument spelling (tags stripped).
    let base = |a: &str| a.split('!').next().unwrap_or("").to_string();
    let mut ptrs: Vec<(String, u32)> = Vec::new();
    for (_, args) in &c.globals {
        for a in args.iter().map(|a| base(a)) {
            if a == "int" || ptrs.iter().any(|(k, _)| *k == a) {
                continue;
            }
            if a == "void*" {
                types.extend([0, 2 << 24, 0]);
                ptrs.push((a.clone(), next_id));
                next_id += 1;
                continue;
            }
            let (sname, size) = if a == "ctx" {
                (ctx_name.to_string(), 8)
            } else {
                let n: u32 = a.strip_prefix("mem").expect("memN").parse().expect("N");
                (format!("m{n}"), n)
            };
            let off = name(&sname, &mut strs);
            types.extend([off, 4 << 24, size]);
            types.extend([0, 2 << 24, next_id]);
            ptrs.push((a.clone(), next_id + 1));
            next_id += 2;
        }
    }
    let starts = subprog_starts(raw);
    let mut funcs = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let global = c.globals.iter().find(|(n, _)| *n == k);
        let proto = match global {
            Some((_, args)) => {
                types.extend([0, (13 << 24) | args.len() as u32, 1]);
                for (i, a) in args.iter().enumerate() {
                    let pn = name(&format!("a{i}"), &mut strs);
                    let a = base(a);
                    let t = if a == "int" {
                        1
                    } else {
                        ptrs.iter().find(|(k, _)| *k == a).expect("ptr").1
                    };
                    types.extend([pn, t]);
                }
                next_id += 1;
                next_id - 1
            }
            None => 2,
        };
        let fname = name(&format!("f{k}"), &mut strs);
        types.extend([fname, (12 << 24) | global.is_some() as u32, proto]);
        funcs.push((start, next_id));
        next_id += 1;
    }
    // Declaration tags on arguments: DECL_TAG "arg:TAG" on the FUNC.
    for (k, args) in &c.globals {
        for (i, a) in args.iter().enumerate() {
            for tag in a.split('!').skip(1) {
                let tn = name(&format!("arg:{tag}"), &mut strs);
                types.extend([tn, 17 << 24, funcs[*k].1, i as u32]);
            }
        }
    }
    let mut blob = Vec::new();
    let tlen = types.len() as u32 * 4;
    for w in [0x0001_eb9f_u32, 24, 0, tlen, tlen, strs.len() as u32] {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    for w in &types {
        blob.extend_from_slice(&w.to_le_bytes());
    }
    blob.extend_from_slice(&strs);
    (blob, funcs)
}

/// The running kernel's BTF and the id of the typedef or function `name`
/// in it (cases with `@attach_btf` need `/sys/kernel/btf/vmlinux`).
fn attach_btf(name: &str) -> (&'static btf::Btf, u32) {
    let vmlinux = object::vmlinux_btf()
        .ok()
        .flatten()
        .expect("@attach_btf needs /sys/kernel/btf/vmlinux");
    let id = vmlinux
        .find_by_name(btf::Kind::Typedef, name)
        .or_else(|| vmlinux.find_by_name(btf::Kind::Func, name))
        .unwrap_or_else(|| panic!("no typedef or function {name} in vmlinux BTF"));
    (vmlinux, id)
}

/// `{struct.member}`, `{struct.member+N}` and `{sizeof:struct}` in a
/// line, replaced by byte offsets and sizes from the running kernel's BTF,
/// so that cases on kernel structs follow the kernel's layout.
fn subst(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push_str(&rest[..i]);
        let expr = &rest[i + 1..i + j];
        out.push_str(&btf_value(expr).to_string());
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

fn btf_value(expr: &str) -> i64 {
    let vmlinux = object::vmlinux_btf()
        .ok()
        .flatten()
        .expect("kernel struct offsets need /sys/kernel/btf/vmlinux");
    let st = |name: &str| {
        vmlinux
            .find_by_name(btf::Kind::Struct, name)
            .unwrap_or_else(|| panic!("no struct {name} in vmlinux BTF"))
    };
    if let Some(name) = expr.strip_prefix("sizeof:") {
        return vmlinux.size_of(st(name)).expect("size") as i64;
    }
    let (path, add) = match expr.find(['+', '-']) {
        Some(k) => (
            &expr[..k],
            expr[k..].trim_start_matches('+').parse::<i64>().expect("N"),
        ),
        None => (expr, 0),
    };
    let (sname, field) = path.split_once('.').expect("{struct.member}");
    let m = vmlinux
        .find_member(st(sname), field)
        .expect("member lookup")
        .unwrap_or_else(|| panic!("no member {field} in struct {sname}"));
    (m.bit_offset / 8) as i64 + add
}

/// The case with its `{…}` kernel offsets resolved.
fn resolved(c: &Case) -> Case {
    if c.attach_btf.is_none() && !c.vmlinux {
        return c.clone();
    }
    let mut c = c.clone();
    c.asm = c.asm.iter().map(|l| subst(l)).collect();
    c.logs = c.logs.iter().map(|l| subst(l)).collect();
    if let Some(Err(m)) = &c.expect {
        c.expect = Some(Err(subst(m)));
    }
    c
}

/// Run one case; `Err` describes the mismatch.
fn run(c: &Case) -> Result<(), String> {
    let c = &resolved(c);
    let raw = assemble(c);
    let mut req = Request::new(&raw, c.prog_type);
    req.expected_attach_type = c.attach;
    req.maps = c.maps.clone();
    req.options = c.opts;
    req.btf = c.attach_btf.as_deref().map(|name| {
        let (vmlinux, id) = attach_btf(name);
        oxbpf_verifier::BtfInfo {
            vmlinux,
            attach_btf_id: id,
        }
    });
    if c.vmlinux {
        req.btf = object::vmlinux_btf()
            .ok()
            .flatten()
            .map(|vmlinux| oxbpf_verifier::BtfInfo {
                vmlinux,
                attach_btf_id: 0,
            });
    }
    if !c.globals.is_empty() {
        let (blob, funcs) = case_prog_btf(c, &raw);
        let btf = btf::Btf::parse(&blob).map_err(|e| format!("case BTF: {e}"))?;
        req.prog_btf = Some(oxbpf_verifier::ProgBtf {
            btf: std::sync::Arc::new(btf),
            funcs,
        });
    }
    req.log_level = if c.logs.is_empty() { 1 } else { 2 };
    let got = verify(&req);
    let expect = c.expect.clone().ok_or("no @accept/@reject")?;
    match (&got, &expect) {
        (Ok(_), Ok(())) => {}
        (Err(r), Err(msg)) if r.error_line() == msg => {}
        (Ok(_), Err(msg)) => return Err(format!("accepted, expected rejection `{msg}`")),
        (Err(r), _) => return Err(format!("rejected: `{}`\n--- log:\n{}", r.message, r.log)),
    }
    let log = match &got {
        Ok(v) => v.log().to_string(),
        Err(r) => r.log.clone(),
    };
    for l in &c.logs {
        if !log.lines().any(|x| x.trim() == l.trim()) {
            return Err(format!("log lacks `{l}`\n--- log:\n{log}"));
        }
    }
    Ok(())
}

#[test]
fn cases() {
    let filter = std::env::var("CASE").ok();
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| filter.as_ref().is_none_or(|f| c.name.contains(f.as_str())))
        .collect();
    let mut failed = Vec::new();
    for c in &cases {
        if let Err(e) = run(c) {
            failed.push(format!("{}: {}: {e}", c.file, c.name));
        }
    }
    let n = cases.len();
    let accepts = cases
        .iter()
        .filter(|c| matches!(c.expect, Some(Ok(()))))
        .count();
    eprintln!(
        "{n} cases ({accepts} accepted, {} rejected), {} failed",
        n - accepts,
        failed.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// Compare every case with the running kernel (see the module docs).
#[test]
fn kernel_oracle() {
    let Ok(kload) = std::env::var("KERNEL_ORACLE") else {
        return;
    };
    let strict = std::env::var("ORACLE_STRICT").is_ok();
    let mut report = Vec::new();
    let mut agree = 0;
    let cases = all_cases();
    for c in &cases {
        let c = &resolved(c);
        let raw = assemble(c);
        let path = std::env::temp_dir().join(format!("oxbpf-case-{}.bin", std::process::id()));
        std::fs::write(&path, RawInsn::slice_to_bytes(&raw)).expect("write bin");
        let mut cmd = std::process::Command::new(&kload);
        cmd.arg(c.prog_type.id().to_string()).arg("1").arg(&path);
        if let Some(a) = c.attach {
            cmd.env("KLOAD_ATTACH", a.id().to_string());
        }
        if c.func_info {
            cmd.env("KLOAD_FUNC_INFO", "1");
        }
        if !c.globals.is_empty() {
            let (blob, funcs) = case_prog_btf(c, &raw);
            let bp = std::env::temp_dir().join(format!("oxbpf-case-{}.btf", std::process::id()));
            let fp = std::env::temp_dir().join(format!("oxbpf-case-{}.fi", std::process::id()));
            std::fs::write(&bp, &blob).expect("write btf");
            let fi: Vec<u8> = funcs
                .iter()
                .flat_map(|(o, t)| o.to_le_bytes().into_iter().chain(t.to_le_bytes()))
                .collect();
            std::fs::write(&fp, fi).expect("write func info");
            cmd.env("KLOAD_BTF_FILE", &bp)
                .env("KLOAD_FUNC_INFO_FILE", &fp);
        }
        if let Some(name) = &c.attach_btf {
            cmd.env("KLOAD_ATTACH_BTF_ID", attach_btf(name).1.to_string());
        }
        let mut ok_maps = true;
        for (k, m) in &c.maps {
            if *k as usize != cmd.get_args().count() - 3 || m.inner.is_some() {
                ok_maps = false;
            }
            // Maps with a lock or timer get BTF for their value from kload.
            let off = |o: Option<u32>| o.map_or(-1, |v| v as i64);
            cmd.arg(format!(
                "{}:{}:{}:{}:{}:{}:{}",
                m.map_type.id(),
                m.key_size,
                m.value_size,
                m.max_entries,
                m.flags,
                off(m.spin_lock_off),
                off(m.timer_off)
            ));
        }
        if !ok_maps {
            continue;
        }
        let out = cmd.output().expect("run kload");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let accepted = text.contains("VERDICT accept");
        let want_accept = c.kernel.unwrap_or(matches!(c.expect, Some(Ok(()))));
        let msg_ok = match (&c.expect, c.kernel) {
            (Some(Err(m)), None) => text.lines().any(|l| l.starts_with(m.as_str())),
            _ => true,
        };
        if accepted == want_accept && msg_ok {
            agree += 1;
        } else {
            let tail: Vec<&str> = text
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            report.push(format!(
                "{}: {}: expected {:?} kernel:\n  {}",
                c.file,
                c.name,
                c.expect,
                tail.join("\n  ")
            ));
        }
    }
    eprintln!(
        "kernel oracle: {agree} agree, {} differ\n{}",
        report.len(),
        report.join("\n")
    );
    if strict {
        assert!(report.is_empty());
    }
}
