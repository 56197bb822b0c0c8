//! The variable-length parts of `bpf_prog_info`: map ids, function and
//! line info, jited symbol addresses — what `bpftool prog dump xlated`
//! reads besides the instructions, so tests can render the same dump.

use super::sys;
use super::{get_info, KernelError, Prog};

/// `struct bpf_func_info` as the kernel returns it (`insn_off` in xlated
/// slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KFuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

/// `struct bpf_line_info` as the kernel returns it (`insn_off` in xlated
/// slots; string offsets into the program's BTF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KLineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    /// `line << 10 | column`.
    pub line_col: u32,
}

/// The records of one program, all read in one `BPF_OBJ_GET_INFO_BY_FD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgRecords {
    pub map_ids: Vec<u32>,
    pub func_info: Vec<KFuncInfo>,
    pub line_info: Vec<KLineInfo>,
    /// Addresses of the jited functions (zeroed unless raw dumps are
    /// allowed); empty for interpreted programs.
    pub jited_ksyms: Vec<u64>,
}

fn words(buf: &[u8]) -> impl Iterator<Item = u32> + '_ {
    buf.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl Prog {
    /// Map ids, func info, line info and jited symbol addresses.
    pub fn records(&self) -> Result<ProgRecords, KernelError> {
        let mut first = sys::ProgInfoRaw::default();
        // SAFETY: `first` is the program info struct and holds no pointers.
        unsafe { get_info(self.fd(), &mut first) }?;
        let (nm, nf, nl, nk) = (
            first.nr_map_ids,
            first.nr_func_info,
            first.nr_line_info,
            first.nr_jited_ksyms,
        );
        let (frec, lrec) = (first.func_info_rec_size, first.line_info_rec_size);
        let mut maps = vec![0u8; nm as usize * 4];
        let mut funcs = vec![0u8; nf as usize * frec as usize];
        let mut lines = vec![0u8; nl as usize * lrec as usize];
        let mut ksyms = vec![0u8; nk as usize * 8];
        let p = |v: &mut Vec<u8>| {
            if v.is_empty() {
                0
            } else {
                sys::ptr(v.as_mut_ptr())
            }
        };
        let mut raw = sys::ProgInfoRaw {
            nr_map_ids: nm,
            map_ids: p(&mut maps),
            nr_func_info: nf,
            func_info_rec_size: frec,
            func_info: p(&mut funcs),
            nr_line_info: nl,
            line_info_rec_size: lrec,
            line_info: p(&mut lines),
            nr_jited_ksyms: nk,
            jited_ksyms: p(&mut ksyms),
            ..Default::default()
        };
        // SAFETY: each pointer in `raw` is null with a zero count, or points
        // to one of our buffers, sized count * record size (the sizes the
        // kernel just reported and we pass back), alive across the call.
        unsafe { get_info(self.fd(), &mut raw) }?;
        let func_info = funcs
            .chunks_exact(frec.max(8) as usize)
            .map(|c| {
                let mut w = words(c);
                KFuncInfo {
                    insn_off: w.next().unwrap_or(0),
                    type_id: w.next().unwrap_or(0),
                }
            })
            .collect();
        let line_info = lines
            .chunks_exact(lrec.max(16) as usize)
            .map(|c| {
                let w: Vec<u32> = words(c).take(4).collect();
                KLineInfo {
                    insn_off: w[0],
                    file_name_off: w[1],
                    line_off: w[2],
                    line_col: w[3],
                }
            })
            .collect();
        Ok(ProgRecords {
            map_ids: words(&maps).collect(),
            func_info,
            line_info,
            jited_ksyms: ksyms
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        })
    }
}
