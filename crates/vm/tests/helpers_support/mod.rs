//! Shared support of the helper tests: assembling a program, running it on
//! the interpreter with maps the way the runtime will (a [`HelperHost`]
//! holding the maps, a resolver turning the `lddw` map fds into map
//! addresses), and running the same bytes in the kernel.
#![allow(dead_code)]

use isa::asm::{assemble, Syntax};
use isa::{LoadImm, RawInsn};
use oxbpf_vm::host::MemoryTrace;
use oxbpf_vm::{
    helpers::standard_registry, BoxError, HelperHost, Machine, PrepareOptions, Program, RegionKind,
    Resolver, RunEnv, VmError,
};
use std::sync::Arc;
use testkit::kernel::{MapCreate, ProgLoad, TestRun};
use testkit::Kernel;
use uapi::{MapType, ProgType};

pub fn asm(text: &str) -> Vec<RawInsn> {
    assemble(text, Syntax::Llvm).unwrap_or_else(|e| panic!("assemble: {e}\n{text}"))
}

/// Our maps by the fd number the program's `lddw` names.
#[derive(Clone, Default)]
pub struct Maps(pub Vec<(i32, Arc<maps::Map>)>);

impl Maps {
    pub fn get(&self, fd: i32) -> &Arc<maps::Map> {
        &self.0.iter().find(|(f, _)| *f == fd).expect("map fd").1
    }
}

impl Resolver for Maps {
    fn resolve(&self, _pc: usize, imm: LoadImm) -> Result<u64, BoxError> {
        match imm {
            LoadImm::MapFd(fd) => Ok(HelperHost::map_addr(self.get(fd))),
            LoadImm::MapValue { fd, off } => {
                let p = self.get(fd).lookup_ptr(&0u32.to_ne_bytes(), 0);
                if p.is_null() {
                    return Err("map has no value 0".into());
                }
                Ok(p.expose_provenance() as u64 + u64::from(off))
            }
            other => Err(format!("unexpected {other:?}").into()),
        }
    }
}

/// A map of ours with `ncpus` workers.
pub fn our_map(spec: maps::MapSpec, ncpus: u32) -> Arc<maps::Map> {
    Arc::new(maps::Map::create(spec, &maps::MapOptions::new(ncpus)).expect("create map"))
}

/// Prepares `raw` with the standard helpers; `unchecked` as a verified
/// program would run.
pub fn prepare(raw: &[RawInsn], maps: &Maps, unchecked: bool) -> Program {
    let helpers = standard_registry();
    let mut opts = PrepareOptions::new(&helpers);
    opts.resolver = Some(maps);
    let p = Program::from_raw(raw, &opts).expect("prepare");
    if unchecked {
        // SAFETY: callers only pass programs the kernel's verifier accepted
        // (or that they know to be safe).
        unsafe { p.assume_verified() }
    } else {
        p
    }
}

/// What a run gives back besides r0.
pub struct Outcome {
    pub r0: Result<u64, VmError>,
    pub trace: Vec<String>,
}

/// Runs `prog` once on worker `worker` with the maps in its host, r1 = a
/// 64-byte zeroed context.
pub fn run(prog: &Program, maps: &Maps, worker: u32) -> Outcome {
    run_with(prog, maps, worker, |_| {})
}

/// As [`run`], with the host adjusted by `configure` first.
pub fn run_with(
    prog: &Program,
    maps: &Maps,
    worker: u32,
    configure: impl FnOnce(&mut HelperHost),
) -> Outcome {
    let trace = Arc::new(MemoryTrace::default());
    let mut host = HelperHost::new(maps.0.iter().map(|(_, m)| m.clone()).collect());
    host.trace = trace.clone();
    configure(&mut host);
    let mut ctx = [0u8; 64];
    let mut env = RunEnv::new();
    let ctx_addr = env.add_region(&mut ctx, RegionKind::Context);
    host.add_map_regions(&mut env);
    env.set_worker(worker);
    env.set_host(&mut host);
    let mut vm = Machine::new();
    let r0 = vm.run(prog, &mut env, &[ctx_addr]);
    drop(env);
    Outcome {
        r0,
        trace: trace.lines(),
    }
}

/// A map in the kernel and ours, with the same spec; the program text
/// names it by the kernel's fd (or a made-up fd without a kernel).
pub struct Pair {
    pub fd: i32,
    pub kernel: Option<testkit::kernel::Map>,
    pub ours: Arc<maps::Map>,
}

static NEXT_FAKE_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1000);

pub fn pair(
    kernel: Option<&Kernel>,
    t: MapType,
    key: u32,
    value: u32,
    max: u32,
    flags: u32,
) -> Pair {
    use std::os::fd::AsRawFd;
    let k = kernel.map(|k| {
        let mut req = MapCreate::new(t, key, value, max);
        req.map_flags = flags;
        k.create_map(&req).expect("kernel map create")
    });
    let fd = k.as_ref().map_or_else(
        || NEXT_FAKE_FD.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        |m| m.fd().as_raw_fd(),
    );
    let ours = our_map(maps::MapSpec::new(t, key, value, max).with_flags(flags), 1);
    Pair {
        fd,
        kernel: k,
        ours,
    }
}

/// Loads `raw` as an XDP program in the kernel and runs it once on 64
/// zero bytes: its r0 (low 32 bits, as test-run reports it).
pub fn kernel_run(kernel: &Kernel, raw: &[RawInsn]) -> u32 {
    kernel_try_run(kernel, raw).unwrap_or_else(|e| panic!("kernel load: {e}"))
}

/// As [`kernel_run`], with the load error (and verifier log) as text.
pub fn kernel_try_run(kernel: &Kernel, raw: &[RawInsn]) -> Result<u32, String> {
    let prog = kernel
        .load_prog(&ProgLoad::new(ProgType::Xdp, raw))
        .map_err(|e| e.to_string())?;
    Ok(prog
        .test_run(&TestRun::with_data(&[0u8; 64]))
        .expect("kernel test run")
        .retval)
}

/// Every (key, value) of a map, sorted, from the syscall side: ours.
pub fn our_contents(m: &maps::Map) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = m
        .keys()
        .expect("keys")
        .into_iter()
        .map(|k| {
            let val = m.lookup(&k).expect("lookup");
            (k, val)
        })
        .collect();
    v.sort();
    v
}

/// The kernel's.
pub fn kernel_contents(m: &testkit::kernel::Map) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = m
        .keys()
        .expect("keys")
        .into_iter()
        .map(|k| {
            let val = m.lookup(&k).expect("lookup").expect("present");
            (k, val)
        })
        .collect();
    v.sort();
    v
}

/// A program that runs `steps` (each leaves a value in r0; r6 and r7 are
/// reserved) and records each r0 in `res[i]` (an array of u64), then
/// returns the number of steps.
pub fn results_program(res: i32, steps: &[String]) -> String {
    let rec = format!(
        "*(u64 *)(r10 - 32) = r0\n*(u32 *)(r10 - 36) = r6\nr2 = r10\nr2 += -36\n\
         r3 = r10\nr3 += -32\nld_pseudo r1, 1, {res}\nr4 = 0\ncall 2\nr6 += 1\n"
    );
    let mut s = String::from("r6 = 0\n");
    for st in steps {
        s += st;
        s += &rec;
    }
    s += "r0 = r6\nexit\n";
    s
}

/// The first `n` u64 values of a results array of ours.
pub fn results(m: &maps::Map, n: u32) -> Vec<i64> {
    (0..n)
        .map(|i| i64::from_ne_bytes(m.lookup(&i.to_ne_bytes()).unwrap().try_into().unwrap()))
        .collect()
}

/// The kernel's.
pub fn kernel_results(m: &testkit::kernel::Map, n: u32) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let v = m.lookup(&i.to_ne_bytes()).unwrap().unwrap();
            i64::from_ne_bytes(v.try_into().unwrap())
        })
        .collect()
}

/// Assembly that stores `bytes` (padded with NULs to 8) on the stack from
/// `r10 - off` upwards (clobbers r1).
pub fn stack_bytes(bytes: &[u8], off: i32) -> String {
    let mut s = String::new();
    let mut b = bytes.to_vec();
    b.resize(bytes.len().next_multiple_of(8).max(8), 0);
    for (k, c) in b.chunks(8).enumerate() {
        let v = u64::from_le_bytes(c.try_into().unwrap());
        s += &format!(
            "r1 = {v:#x} ll\n*(u64 *)(r10 - {}) = r1\n",
            off - 8 * k as i32
        );
    }
    s
}
