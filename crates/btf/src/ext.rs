//! `.BTF.ext`: per-program-section tables that point into the code.
//!
//! The section is a header followed by up to three subsections (func_info,
//! line_info, CO-RE relocations). Each subsection starts with a record size
//! (so newer compilers can append fields, which we skip) and then holds
//! blocks of `{sec_name_off, num_info, records...}`, one per ELF section of
//! code. All names are offsets into the `.BTF` string section, so parsing
//! needs the parsed [`Btf`] to check them.
//!
//! `insn_off` values are kept as clang writes them in objects: byte offsets
//! from the start of the code section (divide by 8 for instruction indices).

use crate::error::BtfError;
use crate::parse::{detect_endian, section_range, Reader};
use crate::types::TypeId;
use crate::Btf;

const HDR: &str = "header";
const MIN_HDR_LEN: usize = 24;
/// Header length once CO-RE relocations were added.
const CORE_HDR_LEN: usize = 32;

/// The `.BTF.ext` header (`struct btf_ext_header`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtHeader {
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub func_info_off: u32,
    pub func_info_len: u32,
    pub line_info_off: u32,
    pub line_info_len: u32,
    /// Zero when the header is too short to have them.
    pub core_relo_off: u32,
    pub core_relo_len: u32,
}

/// The records of one subsection that belong to one ELF code section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection<T> {
    pub name_off: u32,
    /// The ELF section name, e.g. `xdp` or `.text`.
    pub name: String,
    pub records: Vec<T>,
}

/// `struct bpf_func_info`: function `type_id` (a `FUNC`) starts at `insn_off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub type_id: TypeId,
}

/// `struct bpf_line_info`: the instruction at `insn_off` came from `line`
/// and `column` of the source line whose text is at `line_off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    pub line: u32,
    pub column: u32,
}

impl LineInfo {
    /// The source file name ("" if unavailable).
    pub fn file_name<'a>(&self, btf: &'a Btf) -> &'a str {
        btf.name_by_offset(self.file_name_off).unwrap_or("")
    }

    /// The source line's text ("" if unavailable).
    pub fn line_text<'a>(&self, btf: &'a Btf) -> &'a str {
        btf.name_by_offset(self.line_off).unwrap_or("")
    }
}

/// `enum bpf_core_relo_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreReloKind {
    #[doc(alias = "BPF_CORE_FIELD_BYTE_OFFSET")]
    FieldByteOffset,
    #[doc(alias = "BPF_CORE_FIELD_BYTE_SIZE")]
    FieldByteSize,
    #[doc(alias = "BPF_CORE_FIELD_EXISTS")]
    FieldExists,
    #[doc(alias = "BPF_CORE_FIELD_SIGNED")]
    FieldSigned,
    #[doc(alias = "BPF_CORE_FIELD_LSHIFT_U64")]
    FieldLshiftU64,
    #[doc(alias = "BPF_CORE_FIELD_RSHIFT_U64")]
    FieldRshiftU64,
    #[doc(alias = "BPF_CORE_TYPE_ID_LOCAL")]
    TypeIdLocal,
    #[doc(alias = "BPF_CORE_TYPE_ID_TARGET")]
    TypeIdTarget,
    #[doc(alias = "BPF_CORE_TYPE_EXISTS")]
    TypeExists,
    #[doc(alias = "BPF_CORE_TYPE_SIZE")]
    TypeSize,
    #[doc(alias = "BPF_CORE_ENUMVAL_EXISTS")]
    EnumvalExists,
    #[doc(alias = "BPF_CORE_ENUMVAL_VALUE")]
    EnumvalValue,
    #[doc(alias = "BPF_CORE_TYPE_MATCHES")]
    TypeMatches,
    /// A kind newer than this crate; the loader decides what to do.
    Unknown(u32),
}

impl CoreReloKind {
    fn from_u32(v: u32) -> Self {
        use CoreReloKind::*;
        match v {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            o => Unknown(o),
        }
    }
}

/// `struct bpf_core_relo`: at `insn_off`, patch the instruction with a fact
/// about `type_id` reached through `access_str` (`"0:1:2"`: member/array
/// indices, first one the pointer arithmetic index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRelo {
    pub insn_off: u32,
    pub type_id: TypeId,
    pub access_str_off: u32,
    pub access_str: String,
    pub kind: CoreReloKind,
}

impl CoreRelo {
    /// The access string's indices, or `None` if it is not `N(:N)*`.
    pub fn access_indices(&self) -> Option<Vec<u32>> {
        self.access_str.split(':').map(|s| s.parse().ok()).collect()
    }
}

/// A parsed `.BTF.ext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfExt {
    pub header: ExtHeader,
    pub func_info: Vec<ExtSection<FuncInfo>>,
    pub line_info: Vec<ExtSection<LineInfo>>,
    pub core_relos: Vec<ExtSection<CoreRelo>>,
}

/// A subsection's identity: its name for errors and its minimum record size.
struct Sub {
    name: &'static str,
    min_rec: usize,
}

impl BtfExt {
    /// Parses `.BTF.ext` bytes; names and type ids are checked against `btf`
    /// (the object's `.BTF`).
    pub fn parse(bytes: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let big_endian = detect_endian(bytes, ".BTF.ext header")?;
        let r = Reader {
            data: bytes,
            big_endian,
        };
        if bytes.len() < MIN_HDR_LEN {
            return Err(bad(
                HDR,
                0,
                format!("{} bytes, need at least {MIN_HDR_LEN}", bytes.len()),
            ));
        }
        let w = |o: usize| r.u32(o).unwrap_or(0);
        let hdr_len = w(4);
        if (hdr_len as usize) < MIN_HDR_LEN || hdr_len as usize > bytes.len() {
            return Err(BtfError::BadHeaderLen {
                section: ".BTF.ext header",
                hdr_len,
                len: bytes.len(),
            });
        }
        let has_core = hdr_len as usize >= CORE_HDR_LEN;
        let header = ExtHeader {
            version: bytes[2],
            flags: bytes[3],
            hdr_len,
            func_info_off: w(8),
            func_info_len: w(12),
            line_info_off: w(16),
            line_info_len: w(20),
            core_relo_off: if has_core { w(24) } else { 0 },
            core_relo_len: if has_core { w(28) } else { 0 },
        };
        if header.version != 1 {
            return Err(BtfError::BadVersion {
                section: ".BTF.ext header",
                version: header.version,
            });
        }
        let base = hdr_len as usize;
        let fi = Sub {
            name: "func_info",
            min_rec: 8,
        };
        let li = Sub {
            name: "line_info",
            min_rec: 16,
        };
        let cr = Sub {
            name: "core_relo",
            min_rec: 16,
        };
        let s = |sub: &Sub, off, len| -> Result<_, BtfError> {
            let range = section_range(".BTF.ext subsection", base, off, len, bytes.len())
                .map_err(|e| bad(sub.name, base, e.to_string()))?;
            Ok(range)
        };
        let func_info = parse_sub(
            &r,
            btf,
            &fi,
            s(&fi, header.func_info_off, header.func_info_len)?,
            |o| {
                let type_id = w(o + 4);
                check_type(btf, fi.name, o, type_id)?;
                Ok(FuncInfo {
                    insn_off: w(o),
                    type_id,
                })
            },
        )?;
        let line_info = parse_sub(
            &r,
            btf,
            &li,
            s(&li, header.line_info_off, header.line_info_len)?,
            |o| {
                let (file_name_off, line_off, line_col) = (w(o + 4), w(o + 8), w(o + 12));
                check_str(btf, li.name, o + 4, file_name_off)?;
                check_str(btf, li.name, o + 8, line_off)?;
                Ok(LineInfo {
                    insn_off: w(o),
                    file_name_off,
                    line_off,
                    line: line_col >> 10,
                    column: line_col & 0x3ff,
                })
            },
        )?;
        let core_relos = parse_sub(
            &r,
            btf,
            &cr,
            s(&cr, header.core_relo_off, header.core_relo_len)?,
            |o| {
                let (type_id, access_str_off) = (w(o + 4), w(o + 8));
                check_type(btf, cr.name, o + 4, type_id)?;
                let access_str = check_str(btf, cr.name, o + 8, access_str_off)?.to_string();
                Ok(CoreRelo {
                    insn_off: w(o),
                    type_id,
                    access_str_off,
                    access_str,
                    kind: CoreReloKind::from_u32(w(o + 12)),
                })
            },
        )?;
        Ok(BtfExt {
            header,
            func_info,
            line_info,
            core_relos,
        })
    }

    /// The line info in effect at byte offset `insn_off` of code section
    /// `section`: the record with the greatest `insn_off` not past it.
    pub fn line_info_at(&self, section: &str, insn_off: u32) -> Option<&LineInfo> {
        self.line_info
            .iter()
            .filter(|s| s.name == section)
            .flat_map(|s| s.records.iter())
            .filter(|l| l.insn_off <= insn_off)
            .max_by_key(|l| l.insn_off)
    }

    /// The func_info records of code section `section`.
    pub fn func_info_for(&self, section: &str) -> impl Iterator<Item = &FuncInfo> + '_ {
        let section = section.to_string();
        self.func_info
            .iter()
            .filter(move |s| s.name == section)
            .flat_map(|s| s.records.iter())
    }

    /// The CO-RE relocations of code section `section`.
    pub fn core_relos_for(&self, section: &str) -> impl Iterator<Item = &CoreRelo> + '_ {
        let section = section.to_string();
        self.core_relos
            .iter()
            .filter(move |s| s.name == section)
            .flat_map(|s| s.records.iter())
    }
}

fn bad(section: &'static str, offset: usize, reason: String) -> BtfError {
    BtfError::BadExt {
        section,
        offset,
        reason,
    }
}

fn check_type(
    btf: &Btf,
    section: &'static str,
    offset: usize,
    type_id: u32,
) -> Result<(), BtfError> {
    if type_id >= btf.type_count() {
        return Err(bad(
            section,
            offset,
            format!(
                "type id {type_id} does not exist ({} types)",
                btf.type_count()
            ),
        ));
    }
    Ok(())
}

fn check_str<'a>(
    btf: &'a Btf,
    section: &'static str,
    offset: usize,
    off: u32,
) -> Result<&'a str, BtfError> {
    btf.name_by_offset(off).ok_or_else(|| {
        bad(
            section,
            offset,
            format!("string offset {off} is outside the string section or not UTF-8"),
        )
    })
}

/// Parses one subsection: `rec_size`, then `{sec_name_off, num_info,
/// records}` blocks until the end. An empty subsection (length 0) is fine.
fn parse_sub<T>(
    r: &Reader,
    btf: &Btf,
    sub: &Sub,
    range: std::ops::Range<usize>,
    mut rec: impl FnMut(usize) -> Result<T, BtfError>,
) -> Result<Vec<ExtSection<T>>, BtfError> {
    let mut out = Vec::new();
    if range.is_empty() {
        return Ok(out);
    }
    let rec_size = r
        .u32(range.start)
        .filter(|_| range.len() >= 4)
        .ok_or_else(|| bad(sub.name, range.start, "no room for the record size".into()))?
        as usize;
    if rec_size < sub.min_rec || rec_size & 3 != 0 {
        return Err(bad(
            sub.name,
            range.start,
            format!(
                "record size {rec_size} (need a multiple of 4, at least {})",
                sub.min_rec
            ),
        ));
    }
    let mut off = range.start + 4;
    while off < range.end {
        if range.end - off < 8 {
            return Err(bad(sub.name, off, "truncated section header".into()));
        }
        let name_off = r.u32(off).unwrap_or(0);
        let num = r.u32(off + 4).unwrap_or(0) as usize;
        let name = check_str(btf, sub.name, off, name_off)?.to_string();
        if num == 0 {
            return Err(bad(
                sub.name,
                off + 4,
                format!("section '{name}' has no records"),
            ));
        }
        let data = off + 8;
        let bytes = num
            .checked_mul(rec_size)
            .filter(|b| *b <= range.end - data)
            .ok_or_else(|| {
                bad(
                    sub.name,
                    off + 4,
                    format!(
                        "section '{name}': {num} records of {rec_size} bytes do not fit in {} bytes",
                        range.end - data
                    ),
                )
            })?;
        let records = (0..num)
            .map(|i| rec(data + i * rec_size))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(ExtSection {
            name_off,
            name,
            records,
        });
        off = data + bytes;
    }
    Ok(out)
}
