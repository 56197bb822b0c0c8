//! Pin a program and its maps in the pin directory (`$OXBPF_FS`, by
//! default `$XDG_RUNTIME_DIR/oxbpf` or `/tmp/oxbpf-<uid>`), so that other
//! processes — `oxbpf map dump`, `oxbpf prog run pinned`, or another
//! program using this crate — see the same live maps.
//!
//! ```text
//! cargo run -p oxbpf --example pinned            # loads and pins, runs 100 times
//! oxbpf map dump pinned /sys/fs/bpf/example/counters
//! cargo run -p oxbpf --example pinned            # opens the pins, runs 100 more
//! rm -r $OXBPF_FS/example                        # unpin: the objects are gone
//! ```

use oxbpf::pin::PinFs;
use oxbpf::{LoadOptions, RuntimeOptions};

const OBJECT: &[u8] = include_bytes!("../../../examples/workflow/counter.bpf.o");

fn main() -> oxbpf::Result<()> {
    let fs = PinFs::from_env()?;
    let root = fs.root().to_path_buf();
    // Maps of this runtime live in the pin directory; ids are shared with
    // every other process using it.
    let rt = fs.into_runtime(RuntimeOptions::default());
    let fs = rt.pin_fs().expect("made with a pin directory");
    let pin = root.join("example/count_runs");

    let prog = if pin.exists() {
        println!("opening {}", pin.display());
        // Restored as it was verified: no second verification.
        fs.open_program(&rt, &pin)?
    } else {
        // Through the pin directory: pin-by-name maps reused, BTF kept
        // (so `oxbpf map dump` prints values by type).
        let obj = fs.load_bytes(&rt, OBJECT, "counter", &LoadOptions::default())?;
        let prog = obj.program("count_runs")?.clone();
        for m in obj.maps() {
            m.pin(root.join("example").join(m.name()))?;
        }
        prog.pin(&pin)?;
        println!("loaded and pinned at {}", pin.display());
        prog
    };
    let mut ctx = [0u8; 64];
    for _ in 0..100 {
        prog.run_raw(&mut ctx)?;
    }
    let counters = &prog.maps()[0];
    let total: u64 = counters
        .get_percpu::<u32, u64>(&0)?
        .unwrap_or_default()
        .iter()
        .sum();
    println!(
        "map {} (id {}): {total} runs so far; try `oxbpf map dump pinned {}`",
        counters.name(),
        counters.id(),
        root.join("example/counters").display()
    );
    Ok(())
}
