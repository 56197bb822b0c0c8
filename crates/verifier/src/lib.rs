//! (essay to come)
#![forbid(unsafe_code)]

pub mod domain;
