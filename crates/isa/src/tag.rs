//! Program tags: the 8-byte fingerprint the kernel reports as `tag` in
//! `bpf_prog_info` and bpftool prints as `tag 3b185187f1855c4c`.
//!
//! The tag lets a user recognise "the same program" across loads, processes
//! and tools (bpftool, `/proc/kallsyms` names `bpf_prog_<tag>_<name>`,
//! perf). For `oxbpf prog show` and `bpftool prog show` to print the same
//! tag for the same program, we hash exactly what the kernel hashes:
//!
//! * **Which instructions**: the program as submitted to `BPF_PROG_LOAD`
//!   (after the loader's relocations — map fds, subprograms appended, CO-RE
//!   — and before any of the verifier's rewrites: no context-access
//!   conversion, no helper fixups, no dead-code removal, no inlining). The
//!   kernel computes the tag at the start of verification, before it
//!   resolves `lddw` map references to pointers.
//! * **Masking**: map fds are process-local and unstable, so the `imm` of an
//!   `lddw` with `src_reg` `BPF_PSEUDO_MAP_FD` (1) or `BPF_PSEUDO_MAP_VALUE`
//!   (2) is zeroed, and so is the `imm` of its second slot (the value offset
//!   of a `MAP_VALUE` reference) when that slot is a well-formed second half
//!   (code, registers and offset all zero). Nothing else is masked: indexes
//!   into `fd_array` (`BPF_PSEUDO_MAP_IDX[_VALUE]`), BTF ids and call
//!   offsets are hashed as they are.
//! * **Hash**: Linux 6.18 hashes those bytes (8 per slot, little-endian
//!   `struct bpf_insn`) with SHA-256 and keeps the first 8 bytes of the
//!   digest (kernels before the BPF signing work of 6.18 used SHA-1; the
//!   oracle test in `tests/tag_kernel.rs` pins the running kernel's choice).

use crate::RawInsn;
use sha2::{Digest, Sha256};
use uapi::opcode::{BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, LDDW};

/// `BPF_TAG_SIZE`.
pub const TAG_SIZE: usize = 8;

/// The instruction bytes the kernel hashes for the tag: `insns` as 8-byte
/// slots with the map-fd immediates zeroed (see the module docs).
pub fn tag_input(insns: &[RawInsn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * RawInsn::SIZE);
    let mut after_map_ld = false;
    for &slot in insns {
        let mut s = slot;
        if !after_map_ld
            && s.code == LDDW
            && (s.src == BPF_PSEUDO_MAP_FD || s.src == BPF_PSEUDO_MAP_VALUE)
        {
            after_map_ld = true;
            s.imm = 0;
        } else if after_map_ld && s.code == 0 && s.dst == 0 && s.src == 0 && s.off == 0 {
            after_map_ld = false;
            s.imm = 0;
        } else {
            after_map_ld = false;
        }
        out.extend_from_slice(&s.to_bytes());
    }
    out
}

/// The program tag the kernel computes for `insns`, the instruction stream
/// given to `BPF_PROG_LOAD` (relocated, not yet verified or rewritten).
pub fn prog_tag(insns: &[RawInsn]) -> [u8; TAG_SIZE] {
    let digest = Sha256::digest(tag_input(insns));
    let mut tag = [0u8; TAG_SIZE];
    tag.copy_from_slice(&digest[..TAG_SIZE]);
    tag
}

/// The tag as bpftool prints it: 16 lowercase hex digits, no separators
/// (`3b185187f1855c4c`), also the form in `bpf_prog_<tag>_<name>` symbols.
pub fn tag_hex(tag: &[u8; TAG_SIZE]) -> String {
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// The kernel's symbol for a jited program or subprogram,
/// `bpf_prog_<tag>_<name>` (`/proc/kallsyms`, `perf`, and the
/// `call pc+3#bpf_prog_…` annotations of `prog dump xlated`).
///
/// For a subprogram the kernel hashes its slice of the *verified*
/// instructions: for a leaf function without map references that is
/// [`prog_tag`] of the slice; where the slice holds calls or map
/// references, it hashes kernel pointers no user-space tool can know.
pub fn ksym_name(tag: &[u8; TAG_SIZE], name: &str) -> String {
    format!("bpf_prog_{}_{name}", tag_hex(tag))
}

/// Parses the 16-hex-digit form back (`bpftool prog show tag TAG`);
/// `None` unless it is exactly 16 hex digits.
pub fn parse_tag_hex(s: &str) -> Option<[u8; TAG_SIZE]> {
    if s.len() != TAG_SIZE * 2 || !s.is_ascii() {
        return None;
    }
    let mut tag = [0u8; TAG_SIZE];
    for (i, b) in tag.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tag_of_r0_7_exit() {
        // Linux 6.18 reports 9efe8873120741b3 for `r0 = 7; exit`.
        let insns = [
            RawInsn::new(0xb7, 0, 0, 0, 7),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        assert_eq!(tag_hex(&prog_tag(&insns)), "9efe8873120741b3");
    }

    #[test]
    fn map_fds_do_not_change_the_tag() {
        let with_fd = |fd: i32, off: i32| {
            [
                RawInsn::new(LDDW, 1, BPF_PSEUDO_MAP_VALUE, 0, fd),
                RawInsn::new(0, 0, 0, 0, off),
                RawInsn::new(0xb7, 0, 0, 0, 0),
                RawInsn::new(0x95, 0, 0, 0, 0),
            ]
        };
        assert_eq!(prog_tag(&with_fd(3, 8)), prog_tag(&with_fd(40, 16)));
        // A plain 64-bit immediate is hashed as it is.
        let mut a = with_fd(3, 8);
        a[0].src = 0;
        let mut b = a;
        b[0].imm = 4;
        assert_ne!(prog_tag(&a), prog_tag(&b));
    }

    #[test]
    fn ksym_of_a_leaf_subprogram() {
        // `bump` of corpus/obj/subprograms.o, as Linux 6.18 names it in
        // kallsyms (slots 24..45 of `tc_subprogs`' xlated insns).
        let text = include_str!("../tests/xlated/subprograms__tc_subprogs/input.json");
        let hex: Vec<&str> = text
            .split('"')
            .filter(|s| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .collect();
        let slots: Vec<RawInsn> = hex[24..45]
            .iter()
            .map(|h| {
                let mut b = [0u8; 8];
                for (i, x) in b.iter_mut().enumerate() {
                    *x = u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).unwrap_or(0);
                }
                RawInsn::from_bytes(b)
            })
            .collect();
        assert_eq!(
            ksym_name(&prog_tag(&slots), "bump"),
            "bpf_prog_135473a1208ea457_bump"
        );
    }

    #[test]
    fn hex_round_trip() {
        let t = [0x3b, 0x18, 0x51, 0x87, 0xf1, 0x85, 0x5c, 0x4c];
        assert_eq!(tag_hex(&t), "3b185187f1855c4c");
        assert_eq!(parse_tag_hex("3b185187f1855c4c"), Some(t));
        assert_eq!(parse_tag_hex("3b185187f1855c4"), None);
        assert_eq!(parse_tag_hex("3b185187f1855c4g"), None);
    }
}
