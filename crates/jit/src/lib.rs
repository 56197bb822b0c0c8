//! (overview to come)
pub mod buffer;
pub mod x86;
