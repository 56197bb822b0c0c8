//! Load a bundled object, run its XDP program on a packet a thousand
//! times, and read the per-CPU counter it keeps — the embedding API's
//! "hello world".
//!
//! ```text
//! cargo run -p oxbpf --example count_packets
//! ```

use oxbpf::{LoadOptions, Runtime, TestRunInput};

/// `examples/workflow/counter.bpf.c`, compiled by clang-19 (the build line
/// is at the top of the source).
const OBJECT: &[u8] = include_bytes!("../../../examples/workflow/counter.bpf.o");

fn main() -> oxbpf::Result<()> {
    let rt = Runtime::new();
    // Creates the maps, verifies each program with the kernel's rules, and
    // prepares it to run.
    let obj = rt.load_bytes(OBJECT, "counter", &LoadOptions::default())?;
    let prog = obj.program("count_runs")?;
    println!(
        "loaded {} (id {}, {} instructions after verification)",
        prog.name(),
        prog.id(),
        prog.xlated().len()
    );

    // BPF_PROG_TEST_RUN on a 64-byte packet, a thousand times.
    let packet = [0u8; 64];
    let out = prog.test_run(&TestRunInput {
        data_in: &packet,
        repeat: 1000,
        ..Default::default()
    })?;
    println!("retval {} (XDP_PASS is 2)", out.retval);

    // Typed access: the per-CPU array has one u64 per worker.
    let counters = obj.map("counters")?;
    let per_worker: Vec<u64> = counters.get_percpu(&0u32)?.unwrap_or_default();
    println!("counters[0] per worker: {per_worker:?}");
    assert_eq!(per_worker.iter().sum::<u64>(), 1000);

    // The hash map of flows holds four entries; the fifth is E2BIG.
    let flows = obj.map("flows")?;
    for port in 1u32..=5 {
        match flows.insert(&port, &[1u8, 0, 0, 0, 80, 0, 6, 0], 0) {
            Ok(()) => println!("flow {port} added"),
            Err(e) => println!("flow {port}: {e} (errno {:?})", e.errno()),
        }
    }
    Ok(())
}
