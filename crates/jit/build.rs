//! Compiles `benches/native.c` (the benchmark programs in C) and links it
//! into the benchmarks only.

fn main() {
    println!("cargo:rerun-if-changed=benches/native.c");
    let objects = cc::Build::new()
        .file("benches/native.c")
        .opt_level(2)
        .cargo_metadata(false)
        .compile_intermediates();
    for o in objects {
        println!("cargo:rustc-link-arg-benches={}", o.display());
    }
}
