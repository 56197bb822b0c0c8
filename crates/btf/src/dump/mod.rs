//! Printing BTF as `bpftool btf dump` does: [`raw`] for the one-line-per-type
//! listing, [`json`] for its `-j` form, [`c`] for compilable C declarations
//! (a `vmlinux.h`).
//!
//! Both write to any [`std::fmt::Write`], so callers choose between a
//! `String` and a buffered stream adapter.

pub mod c;
mod json;
mod raw;

pub use json::{json, json_type};
pub use raw::{raw, raw_type};

use crate::Btf;

/// A type or member name as bpftool prints it: `(anon)` for offset 0,
/// `(invalid)` for an offset that does not name a UTF-8 string.
pub fn display_name(btf: &Btf, name_off: u32) -> &str {
    if name_off == 0 {
        "(anon)"
    } else {
        btf.name_by_offset(name_off).unwrap_or("(invalid)")
    }
}
