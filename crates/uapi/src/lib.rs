//! The eBPF ABI contract, as `include/uapi/linux/bpf.h` states it for Linux.
//!
//! Everything here is a *fact* of the ABI — opcode bit values, helper numbers,
//! program and map type ids, context struct layouts, errno values — so that
//! every other crate of oxbpf agrees with the kernel and with each other on
//! them. Nothing here executes, parses or checks anything.
#![forbid(unsafe_code)]

pub mod ctx;
pub mod errno;
pub mod helpers;
pub mod map;
pub mod opcode;
pub mod prog;
pub mod proto;

pub use helpers::HelperId;
pub use map::MapType;
pub use prog::{AttachType, ProgType};

/// Size of the BPF stack of one frame, in bytes (`MAX_BPF_STACK`).
pub const MAX_BPF_STACK: usize = 512;
/// Maximum depth of bpf-to-bpf calls (`MAX_CALL_FRAMES`).
pub const MAX_CALL_FRAMES: usize = 8;
/// Maximum number of tail calls in one run (`MAX_TAIL_CALL_CNT`).
pub const MAX_TAIL_CALL_CNT: u32 = 33;
/// The verifier's budget of processed instructions (`BPF_COMPLEXITY_LIMIT_INSNS`).
pub const COMPLEXITY_LIMIT_INSNS: u32 = 1_000_000;
/// Maximum number of instructions in one program (`BPF_MAXINSNS` is 4096 for
/// unprivileged users; privileged ones may load up to 1 million).
pub const MAX_INSNS: usize = 1_000_000;
/// The helper number libbpf writes into a call whose CO-RE relocation failed.
pub const POISON_HELPER: i32 = 0xbad2310;
/// Length of an object name (`BPF_OBJ_NAME_LEN`), including the NUL.
pub const OBJ_NAME_LEN: usize = 16;
/// Size of a BPF program tag (`BPF_TAG_SIZE`).
pub const TAG_SIZE: usize = 8;
