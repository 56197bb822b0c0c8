//! One module per noun of the command line.
pub mod asm;
pub mod btf;
pub mod cbpf;
pub mod conformance;
pub mod disasm;
pub mod feature;
pub mod map;
pub mod object;
pub mod pcap;
pub mod prog;
pub mod run;
