//! `bpf_loop` and `bpf_for_each_map_elem`: the same programs on the
//! interpreter (checked and unchecked), every JIT variant and, where
//! `bpf(2)` is permitted, Linux (XDP test runs, with the minimal BTF the
//! kernel wants for `BPF_PSEUDO_FUNC`).

mod common;

use isa::asm::Syntax;
use isa::{CallTarget, Insn, LoadImm, Reg};
use maps::{Map, MapOptions, MapSpec};
use oxbpf_jit::{CompileOptions, JitProgram};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use uapi::{MapType, ProgType};
use vm::{
    BoxError, HelperHost, HelperRegistry, Machine, PrepareOptions, Program, Resolver, RunEnv,
};

/// Assembles LLVM-syntax text in which `rX = func LABEL` loads the address
/// of the subprogram at `LABEL` (`BPF_PSEUDO_FUNC`) and `rX = map` loads
/// the map (fd `map_fd`). The func form is assembled as `call LABEL; goto
/// +0` (two slots, like the `lddw` it becomes) so the assembler resolves
/// the label.
fn program(text: &str, map_fd: i32) -> Vec<Insn> {
    let mut dsts = Vec::new();
    let mut src = String::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some((dst, label)) = t.split_once(" = func ") {
            dsts.push(dst.trim_start_matches('r').parse::<u8>().expect("register"));
            src.push_str(&format!("call {label}\ngoto +0\n"));
        } else if let Some(dst) = t.strip_suffix(" = map") {
            src.push_str(&format!("ld_pseudo {dst}, 1, {map_fd}\n"));
        } else {
            src.push_str(line);
            src.push('\n');
        }
    }
    let insns = isa::asm::assemble_insns(&src, Syntax::Llvm).expect("assembles");
    let mut out = Vec::new();
    let mut dsts = dsts.into_iter();
    let mut i = 0;
    while i < insns.len() {
        match (insns[i], insns.get(i + 1)) {
            (Insn::Call(CallTarget::Local { rel }), Some(Insn::Ja { off: 0, .. })) => {
                let dst = reg(dsts.next().expect("one dst per func line"));
                out.push(Insn::LoadImm64 {
                    dst,
                    imm: LoadImm::Func { rel },
                });
                i += 2;
            }
            (insn, _) => {
                out.push(insn);
                i += 1;
            }
        }
    }
    out
}

fn reg(n: u8) -> Reg {
    [
        Reg::R0,
        Reg::R1,
        Reg::R2,
        Reg::R3,
        Reg::R4,
        Reg::R5,
        Reg::R6,
        Reg::R7,
        Reg::R8,
        Reg::R9,
    ][n as usize]
}

/// Resolves every map fd to one map's address.
struct OneMap(u64);

impl Resolver for OneMap {
    fn resolve(&self, _pc: usize, _imm: LoadImm) -> Result<u64, BoxError> {
        Ok(self.0)
    }
}

/// Runs `insns` with `map` (if any) on the interpreter, checked and
/// unchecked, and on every JIT variant; asserts they agree and returns the
/// result (r0, or the error's text).
#[track_caller]
fn ours(insns: &[Insn], map: Option<&Arc<Map>>) -> Result<u64, String> {
    let helpers = HelperRegistry::with_builtins();
    let resolver = OneMap(map.map_or(0, HelperHost::map_addr));
    let prep = PrepareOptions {
        resolver: Some(&resolver),
        ..PrepareOptions::new(&helpers)
    };
    let maps: Vec<Arc<Map>> = map.into_iter().cloned().collect();
    // Each engine gets a fresh copy of the map's initial contents, so
    // programs that write values see the same state.
    let snapshot = map.map(|m| {
        m.keys()
            .unwrap()
            .into_iter()
            .map(|k| (k.clone(), m.lookup(&k).unwrap()))
            .collect::<Vec<_>>()
    });
    let restore = || {
        if let (Some(m), Some(s)) = (map, &snapshot) {
            for (k, v) in s {
                m.update(k, v, 0).unwrap();
            }
        }
    };
    let with_env = |f: &mut dyn FnMut(&mut RunEnv<'_>) -> Result<u64, String>| {
        restore();
        let mut host = HelperHost::new(maps.clone());
        let mut env = RunEnv::new();
        host.add_map_regions(&mut env);
        env.set_host(&mut host);
        f(&mut env)
    };
    let prog = Program::prepare(insns, &prep).map_err(|e| e.to_string())?;
    let checked = with_env(&mut |env| {
        let mut vm = Machine::new();
        vm.run(&prog, env, &[]).map_err(|e| e.to_string())
    });
    // SAFETY: every program of this file touches only its stack, the
    // callback arguments and map values, as the checked run just showed
    // (tests that expect a memory error do not get here).
    let unchecked = unsafe { prog.clone().assume_verified() };
    let un = with_env(&mut |env| {
        let mut vm = Machine::new();
        vm.run(&unchecked, env, &[]).map_err(|e| e.to_string())
    });
    assert_eq!(un, checked, "unchecked interpreter vs checked");
    for (blind, bmi2) in common::VARIANTS {
        let opts = CompileOptions {
            blind_constants: blind,
            bmi2,
            ..CompileOptions::new(prep)
        };
        // SAFETY: as for `assume_verified` above.
        let jit =
            unsafe { JitProgram::compile_trusted(insns, &opts) }.map_err(|e| e.to_string())?;
        let got = with_env(&mut |env| jit.run(env, &[]).map_err(|e| e.to_string()));
        assert_eq!(
            got, checked,
            "JIT (blind={blind}, bmi2={bmi2}) vs interpreter"
        );
    }
    restore();
    checked
}

/// The sum-of-indexes loop: `nr` iterations, stopping after index `stop`;
/// r0 = (bpf_loop's result << 32) | sum, and 0xbad if r6–r9 changed.
fn sum_loop(nr: i64, stop: i64, flags: i64) -> Vec<Insn> {
    program(
        &format!(
            "r6 = 6
             r7 = 7
             r8 = 8
             r9 = 9
             r1 = 0
             *(u64 *)(r10 - 8) = r1
             *(u64 *)(r10 - 16) = r1
             r1 = {nr} ll
             r2 = func cb
             r3 = r10
             r3 += -8
             r4 = {flags} ll
             call 181
             r0 <<= 32
             r1 = *(u64 *)(r10 - 8)
             r0 += r1
             r1 = *(u64 *)(r10 - 16)
             if r1 != 0 goto bad
             if r6 != 6 goto bad
             if r7 != 7 goto bad
             if r8 != 8 goto bad
             if r9 != 9 goto bad
             exit
           bad:
             r0 = 0xbad
             exit
           cb:
             r3 = *(u64 *)(r2 + 0)
             r3 += r1
             *(u64 *)(r2 + 0) = r3
             r6 = 0
             r7 = 0
             r8 = 0
             r9 = 0
             *(u64 *)(r10 - 8) = r1
             *(u64 *)(r10 - 16) = r1
             r0 = 0
             if r1 != {stop} goto +1
             r0 = 1
             exit"
        ),
        0,
    )
}

#[test]
fn bpf_loop_counts_and_stops() {
    assert_eq!(ours(&sum_loop(10, -1, 0), None), Ok((10 << 32) | 45));
    assert_eq!(ours(&sum_loop(10, 5, 0), None), Ok((6 << 32) | 15));
    assert_eq!(ours(&sum_loop(0, -1, 0), None), Ok(0));
    assert_eq!(ours(&sum_loop(1, 0, 0), None), Ok(1 << 32));
}

#[test]
fn bpf_loop_errors() {
    let einval = (-22i64 as u64) << 32;
    let e2big = (-7i64 as u64) << 32;
    assert_eq!(ours(&sum_loop(10, -1, 1), None), Ok(einval));
    assert_eq!(ours(&sum_loop((1 << 23) + 1, -1, 0), None), Ok(e2big));
    // nr_loops is a u32: the upper half is ignored.
    assert_eq!(
        ours(&sum_loop((1 << 32) | 3, -1, 0), None),
        Ok((3 << 32) | 3)
    );
}

#[test]
fn bpf_loop_many_iterations() {
    let n = 1 << 23;
    let sum = (n - 1) * n / 2;
    assert_eq!(
        ours(&sum_loop(n, -1, 0), None),
        Ok(((n as u64) << 32) + sum as u64)
    );
}

#[test]
fn bad_callback_is_an_error() {
    let insns = program(
        "r1 = 3
         r2 = 5
         r3 = 0
         r4 = 0
         call 181
         exit",
        0,
    );
    let got = ours(&insns, None);
    assert!(
        matches!(&got, Err(e) if e.contains("not a subprogram")),
        "{got:?}"
    );
}

/// Callbacks nest: each level's loop runs `bpf_loop` again until `depth`
/// frames are live (main + 1 per level).
fn nested(levels: usize) -> Vec<Insn> {
    let mut text = String::from(
        "r1 = 0
         *(u64 *)(r10 - 8) = r1
         r1 = 2
         r2 = func cb1
         r3 = r10
         r3 += -8
         r4 = 0
         call 181
         r1 = *(u64 *)(r10 - 8)
         r0 <<= 32
         r0 += r1
         exit
",
    );
    for l in 1..=levels {
        if l < levels {
            text.push_str(&format!(
                "cb{l}:
                 r6 = r2
                 r1 = 2
                 r2 = func cb{}
                 r3 = r6
                 r4 = 0
                 call 181
                 r0 = 0
                 exit
",
                l + 1
            ));
        } else {
            text.push_str(&format!(
                "cb{l}:
                 r1 = *(u64 *)(r2 + 0)
                 r1 += 1
                 *(u64 *)(r2 + 0) = r1
                 r0 = 0
                 exit
"
            ));
        }
    }
    program(&text, 0)
}

#[test]
fn nested_callbacks_and_the_frame_limit() {
    // 7 callback levels: 8 frames, the most there may be; 2^7 leaves.
    assert_eq!(ours(&nested(7), None), Ok((2 << 32) | 128));
    let got = ours(&nested(8), None);
    assert!(matches!(&got, Err(e) if e.contains("too deep")), "{got:?}");
}

#[test]
fn packet_miss_in_a_callback_ends_the_run() {
    let insns = program(
        "r6 = r1
         r1 = 5
         r2 = func cb
         r3 = 0
         r4 = 0
         call 181
         r0 = 77
         exit
       cb:
         r0 = *(u8 *)skb[100]
         r0 = 0
         exit",
        0,
    );
    // `ldabs` needs the packet of a memory run: the common harness.
    let (r, _) = common::agree(&insns, &[1, 2, 3, 4]);
    assert_eq!(r, Ok(0));
}

/// The for-each program: sums the values (u64 at offset 0) and keys (u32)
/// into the caller's stack, stopping after the element with key `stop`
/// (never, if no key is `stop`) and adding 1000 to every value it visits;
/// r0 = (visited << 32) | (value sum + 1000 * key sum) & 0xffffffff. (A
/// stop condition on the key rather than on the count keeps the kernel's
/// verifier from tracking the count precisely through every iteration.)
fn for_each(map_fd: i32, stop: u32, flags: u32) -> Vec<Insn> {
    program(
        &format!(
            "r1 = 0
             *(u64 *)(r10 - 8) = r1
             *(u64 *)(r10 - 16) = r1
             *(u64 *)(r10 - 24) = r1
             r1 = map
             r2 = func cb
             r3 = r10
             r3 += -24
             r4 = {flags}
             call 164
             r0 <<= 32
             r1 = *(u64 *)(r10 - 24)
             r2 = *(u64 *)(r10 - 16)
             r2 *= 1000
             r1 += r2
             r1 <<= 32
             r1 >>= 32
             r0 |= r1
             exit
           cb:
             r5 = *(u64 *)(r3 + 0)
             r0 = *(u64 *)(r4 + 0)
             r0 += r5
             *(u64 *)(r4 + 0) = r0
             r5 += 1000
             *(u64 *)(r3 + 0) = r5
             r5 = *(u32 *)(r2 + 0)
             r0 = *(u64 *)(r4 + 8)
             r0 += r5
             *(u64 *)(r4 + 8) = r0
             r0 = *(u64 *)(r4 + 16)
             r0 += 1
             *(u64 *)(r4 + 16) = r0
             r0 = 0
             if r5 != {stop} goto +1
             r0 = 1
             exit"
        ),
        map_fd,
    )
}

fn our_map(t: MapType, entries: &[(u32, u64)], max: u32) -> Arc<Map> {
    let m = Map::create(MapSpec::new(t, 4, 8, max), &MapOptions::new(2)).unwrap();
    for &(k, v) in entries {
        let per_cpu = matches!(
            t,
            MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
        );
        let mut val = v.to_le_bytes().to_vec();
        if per_cpu {
            val.extend_from_slice(&(v * 3).to_le_bytes());
        }
        m.update(&k.to_le_bytes(), &val, 0).unwrap();
    }
    Arc::new(m)
}

/// A `stop` key no map of these tests has.
const NEVER: u32 = 99;

const ENTRIES: [(u32, u64); 5] = [(0, 5), (1, 7), (3, 11), (6, 13), (7, 17)];

#[test]
fn for_each_over_every_map_type() {
    for t in [
        MapType::Array,
        MapType::PercpuArray,
        MapType::Hash,
        MapType::PercpuHash,
        MapType::LruHash,
        MapType::LruPercpuHash,
    ] {
        let m = our_map(t, &ENTRIES, 8);
        let is_array = matches!(t, MapType::Array | MapType::PercpuArray);
        let visited = if is_array { 8 } else { 5 };
        let key_sum: u64 = if is_array { 28 } else { 17 };
        let want = (visited << 32) | (53 + 1000 * key_sum);
        assert_eq!(ours(&for_each(1, NEVER, 0), Some(&m)), Ok(want), "{t:?}");
        // Stopping at key 3: keys 0, 1, 2, 3 of an array; of a hash, any
        // number, the same on every engine.
        let got = ours(&for_each(1, 3, 0), Some(&m)).unwrap();
        if is_array {
            assert_eq!(got >> 32, 4, "{t:?}");
        }
        // Flags: -EINVAL, nothing visited.
        let got = ours(&for_each(1, NEVER, 1), Some(&m)).unwrap();
        assert_eq!(got >> 32, (-22i64 as u64) & 0xffff_ffff, "{t:?}");
    }
}

#[test]
fn for_each_values_are_writable() {
    let m = our_map(MapType::Array, &ENTRIES, 8);
    let insns = for_each(1, NEVER, 0);
    let helpers = HelperRegistry::with_builtins();
    let resolver = OneMap(HelperHost::map_addr(&m));
    let prep = PrepareOptions {
        resolver: Some(&resolver),
        ..PrepareOptions::new(&helpers)
    };
    let prog = Program::prepare(&insns, &prep).unwrap();
    let mut host = HelperHost::new(vec![m.clone()]);
    let mut env = RunEnv::new();
    host.add_map_regions(&mut env);
    env.set_host(&mut host);
    Machine::new().run(&prog, &mut env, &[]).unwrap();
    drop(env);
    assert_eq!(
        m.lookup(&3u32.to_le_bytes()).unwrap(),
        1011u64.to_le_bytes()
    );
    assert_eq!(
        m.lookup(&2u32.to_le_bytes()).unwrap(),
        1000u64.to_le_bytes()
    );
}

#[test]
fn for_each_checked_refuses_a_non_map() {
    let insns = for_each(1, NEVER, 0);
    let helpers = HelperRegistry::with_builtins();
    let resolver = OneMap(0x1000);
    let prep = PrepareOptions {
        resolver: Some(&resolver),
        ..PrepareOptions::new(&helpers)
    };
    let prog = Program::prepare(&insns, &prep).unwrap();
    let mut env = RunEnv::new();
    let got = Machine::new().run(&prog, &mut env, &[]);
    assert!(
        matches!(got, Err(vm::VmError::Helper { pc: 11, .. })),
        "{got:?}"
    );
}

// ---- the kernel ------------------------------------------------------

/// BTF with one `int (void)` prototype and a static function per name, and
/// the func_info records for functions starting at `starts`.
fn btf_for(names: &[&str], starts: &[usize]) -> (Vec<u8>, Vec<u8>) {
    let mut strings = b"\0int\0".to_vec();
    let mut types = Vec::new();
    let word = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    // [1] int: 4 bytes, signed, 32 bits.
    word(&mut types, 1);
    word(&mut types, 1 << 24);
    word(&mut types, 4);
    word(&mut types, (1 << 24) | 32);
    // [2] int (void)
    word(&mut types, 0);
    word(&mut types, 13 << 24);
    word(&mut types, 1);
    let mut func_info = Vec::new();
    for (i, (name, &start)) in names.iter().zip(starts).enumerate() {
        let off = strings.len() as u32;
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
        // [3 + i] static func `name` of type 2.
        word(&mut types, off);
        word(&mut types, 12 << 24);
        word(&mut types, 2);
        word(&mut func_info, start as u32);
        word(&mut func_info, 3 + i as u32);
    }
    let mut btf = Vec::new();
    btf.extend_from_slice(&0xeb9fu16.to_le_bytes());
    btf.extend_from_slice(&[1, 0]);
    word(&mut btf, 24);
    word(&mut btf, 0);
    word(&mut btf, types.len() as u32);
    word(&mut btf, types.len() as u32);
    word(&mut btf, strings.len() as u32);
    btf.extend_from_slice(&types);
    btf.extend_from_slice(&strings);
    (btf, func_info)
}

/// Runs `insns` as XDP in the kernel; the 32-bit retval.
fn kernel_run(k: &testkit::Kernel, insns: &[Insn]) -> u32 {
    let raw = isa::encode_program(insns);
    let mut starts = vec![0usize];
    let mut pc = 0usize;
    for insn in insns {
        if let Some(t) = match insn {
            Insn::LoadImm64 {
                imm: LoadImm::Func { .. },
                ..
            }
            | Insn::Call(CallTarget::Local { .. }) => insn.branch_target(pc),
            _ => None,
        } {
            starts.push(t as usize);
        }
        pc += insn.slots();
    }
    starts.sort_unstable();
    starts.dedup();
    let names: Vec<String> = (0..starts.len()).map(|i| format!("f{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (btf, func_info) = btf_for(&names, &starts);
    let btf = k.load_btf(&btf, 1).expect("kernel BTF");
    let load = testkit::kernel::ProgLoad::new(ProgType::Xdp, &raw).btf(testkit::kernel::ProgBtf {
        btf_fd: btf.fd(),
        func_info: &func_info,
        func_info_rec_size: 8,
        line_info: &[],
        line_info_rec_size: 16,
    });
    let prog = match k.load_prog(&load) {
        Ok(p) => p,
        Err(e) => panic!("kernel refused the program: {e}"),
    };
    let data = [0u8; 64];
    prog.test_run(&testkit::kernel::TestRun::with_data(&data))
        .expect("test run")
        .retval
}

#[test]
fn bpf_loop_agrees_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    for (nr, stop, flags) in [
        (10, -1, 0),
        (10, 5, 0),
        (0, -1, 0),
        (100, 99, 0),
        (10, -1, 1),
    ] {
        let insns = sum_loop(nr, stop, flags);
        // The kernel's retval is the low 32 bits; put the count there.
        let mut insns = insns;
        let at = insns
            .iter()
            .position(|i| matches!(i, Insn::Call(CallTarget::Helper(181))))
            .unwrap();
        // After the call: r0 = count * 65536 + sum (both small here).
        insns[at + 1] = Insn::Alu {
            width: isa::Width::W64,
            op: isa::AluOp::Lsh,
            dst: Reg::R0,
            src: isa::Operand::Imm(16),
        };
        let want = ours(&insns, None).unwrap();
        assert_eq!(
            k.kernel_retval(&insns),
            want as u32,
            "nr={nr} stop={stop} flags={flags}"
        );
    }
}

trait RetvalExt {
    fn kernel_retval(&self, insns: &[Insn]) -> u32;
}

impl RetvalExt for testkit::Kernel {
    fn kernel_retval(&self, insns: &[Insn]) -> u32 {
        kernel_run(self, insns)
    }
}

#[test]
fn for_each_agrees_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    for t in [MapType::Array, MapType::Hash] {
        let km = k
            .create_map(&testkit::kernel::MapCreate::new(t, 4, 8, 8))
            .expect("kernel map");
        for &(key, v) in &ENTRIES {
            km.update(&key.to_le_bytes(), &v.to_le_bytes(), 0).unwrap();
        }
        let m = our_map(t, &ENTRIES, 8);
        for (stop, flags) in [(NEVER, 0), (3, 0), (NEVER, 1)] {
            let insns = for_each(km.fd().as_raw_fd(), stop, flags);
            // Visited count in bits 24.. of the low half, the sum below.
            let mut insns = insns;
            let at = insns
                .iter()
                .position(|i| matches!(i, Insn::Call(CallTarget::Helper(164))))
                .unwrap();
            insns[at + 1] = Insn::Alu {
                width: isa::Width::W64,
                op: isa::AluOp::Lsh,
                dst: Reg::R0,
                src: isa::Operand::Imm(24),
            };
            let ours = ours(&insns, Some(&m)).unwrap();
            if stop == NEVER || t == MapType::Array {
                // Whole walks do not depend on the order of the elements.
                assert_eq!(
                    kernel_run(&k, &insns),
                    ours as u32,
                    "{t:?} stop={stop} flags={flags}"
                );
            } else {
                // A hash's order is its implementation's: where the walk
                // stops differs, but it does stop, after key 3.
                let count = |r: u32| r >> 24;
                assert!((1..=5).contains(&count(kernel_run(&k, &insns))));
                assert!((1..=5).contains(&count(ours as u32)));
            }
            // Reset the kernel map's values for the next run.
            for &(key, v) in &ENTRIES {
                km.update(&key.to_le_bytes(), &v.to_le_bytes(), 0).unwrap();
            }
            if t == MapType::Array {
                for key in [2u32, 4, 5] {
                    km.update(&key.to_le_bytes(), &0u64.to_le_bytes(), 0)
                        .unwrap();
                }
            }
        }
    }
}
