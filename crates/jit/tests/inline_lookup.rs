//! `bpf_map_lookup_elem` on array maps known at compile time is emitted
//! inline (no helper call): the same values, the same misses (index past
//! `max_entries`, a worker past the per-CPU slots) as the helper the
//! interpreter calls, on every JIT variant. Lookups in known hash and LPM
//! maps call the map's lookup directly.

mod common;

use isa::asm::Syntax;
use isa::{Insn, LoadImm};
use maps::{Map, MapOptions, MapSpec};
use oxbpf_jit::{CompileOptions, JitProgram};
use std::sync::Arc;
use uapi::MapType;
use vm::{
    BoxError, HelperHost, HelperRegistry, Machine, PrepareOptions, Program, Resolver, RunEnv,
};

/// Resolves every map fd to `map`; with `known`, also hands out the map
/// itself, which lets the JIT inline lookups.
struct OneMap {
    map: Arc<Map>,
    known: bool,
}

impl Resolver for OneMap {
    fn resolve(&self, _pc: usize, _imm: LoadImm) -> Result<u64, BoxError> {
        Ok(HelperHost::map_addr(&self.map))
    }
    fn map(&self, _pc: usize, imm: LoadImm) -> Option<Arc<Map>> {
        (self.known && matches!(imm, LoadImm::MapFd(_))).then(|| Arc::clone(&self.map))
    }
}

/// Looks index `idx` up and returns the value's first u64, or 0xdead on
/// a miss. `join`: a jump lands between the map's `lddw` and the call, so
/// the map is not known there.
fn lookup_prog(idx: u32, join: bool) -> Vec<Insn> {
    let mid = if join { "if r0 == 1 goto +0\n" } else { "" };
    let src = format!(
        "r0 = 0
         *(u32 *)(r10 - 4) = {idx}
         r2 = r10
         r2 += -4
         ld_pseudo r1, 1, 7
         {mid}call 1
         if r0 == 0 goto +2
         r0 = *(u64 *)(r0 + 0)
         exit
         r0 = 0xdead
         exit"
    );
    isa::asm::assemble_insns(&src, Syntax::Llvm).expect("assembles")
}

fn array(t: MapType, max: u32, ncpus: u32) -> Arc<Map> {
    let m = Map::create(MapSpec::new(t, 4, 12, max), &MapOptions::new(ncpus)).unwrap();
    let per = if t == MapType::PercpuArray { ncpus } else { 1 };
    for i in 0..max {
        let mut v = Vec::new();
        for cpu in 0..per {
            let mut slot = [0u8; 16];
            slot[..8].copy_from_slice(&u64::from(i * 100 + cpu).to_le_bytes());
            v.extend_from_slice(&slot[..12]);
            v.extend_from_slice(&[0; 4]); // per-CPU values are 8-rounded
        }
        if per == 1 {
            v.truncate(12);
        }
        m.update(&i.to_le_bytes(), &v, 0).unwrap();
    }
    Arc::new(m)
}

/// r0 of the interpreter and of every JIT variant (with and without the
/// map known at compile time) on worker `worker`; asserts they agree, and
/// that the known map left no helper call in the code unless `join`.
fn run(map: &Arc<Map>, insns: &[Insn], worker: u32, join: bool) -> u64 {
    let mut helpers = HelperRegistry::with_builtins();
    helpers.register(
        uapi::HelperId(uapi::helpers::id::MAP_LOOKUP_ELEM),
        vm::helpers::maps::map_lookup_elem,
    );
    let run_with = |f: &mut dyn FnMut(&mut RunEnv<'_>) -> u64| {
        let mut host = HelperHost::new(vec![Arc::clone(map)]);
        let mut env = RunEnv::new();
        host.add_map_regions(&mut env);
        env.set_worker(worker);
        env.set_host(&mut host);
        f(&mut env)
    };
    let plain = OneMap {
        map: Arc::clone(map),
        known: false,
    };
    let prep = PrepareOptions {
        resolver: Some(&plain),
        ..PrepareOptions::new(&helpers)
    };
    let prog = Program::prepare(insns, &prep).unwrap();
    let want = run_with(&mut |env| Machine::new().run(&prog, env, &[]).unwrap());
    for known in [false, true] {
        let resolver = OneMap {
            map: Arc::clone(map),
            known,
        };
        let prep = PrepareOptions {
            resolver: Some(&resolver),
            ..PrepareOptions::new(&helpers)
        };
        for (blind, bmi2) in common::VARIANTS {
            let opts = CompileOptions {
                blind_constants: blind,
                bmi2,
                ..CompileOptions::new(prep)
            };
            // SAFETY: the program reads its stack and, after a null check,
            // 8 bytes of a 12-byte map value.
            let jit = unsafe { JitProgram::compile_trusted(insns, &opts) }.unwrap();
            let helper = vm::helpers::maps::map_lookup_elem as *const () as usize;
            let direct = vm::helpers::maps::map_lookup_elem_known as *const () as usize;
            let code = jit.dump_jited(false);
            let calls_helper = code.contains(&format!("{helper:x}"));
            assert_eq!(calls_helper, !known || join, "known={known} join={join}");
            let is_array = map.array_layout().is_some();
            let calls_direct = code.contains(&format!("{direct:x}"));
            assert_eq!(
                calls_direct,
                known && !join && !is_array,
                "known={known} join={join}"
            );
            let got = run_with(&mut |env| jit.run(env, &[]).unwrap());
            assert_eq!(got, want, "known={known} blind={blind} bmi2={bmi2}");
        }
    }
    want
}

#[test]
fn array_lookups_inline() {
    let m = array(MapType::Array, 5, 2);
    for idx in [0, 1, 4, 5, 6, 0x8000_0000, u32::MAX] {
        let want = if idx < 5 {
            u64::from(idx) * 100
        } else {
            0xdead
        };
        assert_eq!(run(&m, &lookup_prog(idx, false), 0, false), want, "{idx}");
    }
    // A plain array has one value for every worker.
    assert_eq!(run(&m, &lookup_prog(3, false), 7, false), 300);
    // Not known where control joins between the lddw and the call.
    assert_eq!(run(&m, &lookup_prog(2, true), 0, true), 200);
}

#[test]
fn percpu_array_lookups_read_the_worker_slot() {
    let m = array(MapType::PercpuArray, 3, 4);
    for worker in 0..4 {
        for idx in [0, 2, 3] {
            let want = if idx < 3 {
                u64::from(idx * 100 + worker)
            } else {
                0xdead
            };
            assert_eq!(run(&m, &lookup_prog(idx, false), worker, false), want);
        }
    }
    // A worker without a slot misses, as in the helper.
    assert_eq!(run(&m, &lookup_prog(1, false), 4, false), 0xdead);
}

#[test]
fn hash_lookups_call_the_map_directly() {
    for (t, ncpus) in [
        (MapType::Hash, 2),
        (MapType::PercpuHash, 3),
        (MapType::LruHash, 2),
    ] {
        let m = Arc::new(Map::create(MapSpec::new(t, 4, 8, 8), &MapOptions::new(ncpus)).unwrap());
        let per = if t.is_percpu() { ncpus } else { 1 };
        for k in [1u32, 5] {
            let v: Vec<u8> = (0..per)
                .flat_map(|cpu| u64::from(k * 100 + cpu).to_le_bytes())
                .collect();
            m.update(&k.to_le_bytes(), &v, 0).unwrap();
        }
        for worker in 0..ncpus {
            let w = u64::from(if t.is_percpu() { worker } else { 0 });
            assert_eq!(
                run(&m, &lookup_prog(5, false), worker, false),
                500 + w,
                "{t:?}"
            );
            assert_eq!(
                run(&m, &lookup_prog(2, false), worker, false),
                0xdead,
                "{t:?}"
            );
        }
        assert_eq!(run(&m, &lookup_prog(1, true), 0, true), 100, "{t:?}");
    }
}
