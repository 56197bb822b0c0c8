//! How bpftool reads and prints map keys and values: bytes on the command
//! line (`1 0 0 0`, `0x01 …`, `hex 01 00 00 00`), hex in text output,
//! `"0x01"` strings in JSON, and — when the map has BTF — values formatted
//! by type (structs, arrays, enums, char strings) and printed through a
//! writer that lays JSON out exactly as bpftool's `json_writer` does.

use crate::args::{Args, CliResult};
use crate::cli_err;
use btf::{Btf, IntEncoding, Type};
use std::fmt::Write as _;

/// Words that end a byte list (the next keyword of the command).
const KEYWORDS: &[&str] = &["key", "value", "any", "exist", "noexist", "id", "pinned"];

/// bpftool's `parse_bytes`: exactly `n` bytes, each a C integer (`0x`,
/// leading `0` octal, decimal), or hex pairs after `hex`.
pub(crate) fn parse_bytes(args: &mut Args, name: &str, n: usize) -> CliResult<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    let hex = args.peek() == Some("hex");
    if hex {
        args.next_opt();
    }
    while let Some(w) = args.peek() {
        if KEYWORDS.contains(&w) {
            break;
        }
        let w = args.next_opt().unwrap_or_default();
        if hex {
            // bpftool allows runs like "0102" after `hex`.
            let t = w.as_bytes();
            if !t.len().is_multiple_of(2) {
                return Err(cli_err!("error parsing byte: {w}"));
            }
            for c in t.chunks(2) {
                let s = std::str::from_utf8(c).unwrap_or("");
                out.push(
                    u8::from_str_radix(s, 16).map_err(|_| cli_err!("error parsing byte: {w}"))?,
                );
            }
        } else {
            out.push(parse_c_byte(&w).ok_or_else(|| cli_err!("error parsing byte: {w}"))?);
        }
        if out.len() > n {
            return Err(cli_err!("{name} too long, expected {n} bytes"));
        }
    }
    if out.len() != n {
        return Err(cli_err!("{name} expected {n} bytes got {}", out.len()));
    }
    Ok(out)
}

fn parse_c_byte(w: &str) -> Option<u8> {
    let v = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if w.len() > 1 && w.starts_with('0') {
        u64::from_str_radix(&w[1..], 8).ok()?
    } else {
        w.parse::<u64>().ok()?
    };
    u8::try_from(v).ok()
}

/// bpftool's `fprint_hex`: `01 00 00 00`, two spaces after every 8
/// bytes and a new line after every 16.
pub(crate) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push_str(if i % 16 == 0 {
                "\n"
            } else if i % 8 == 0 {
                "  "
            } else {
                " "
            });
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// `print_hex_data_json`: `["0x01","0x00"]`.
pub(crate) fn hex_json(b: &[u8]) -> V {
    V::Arr(b.iter().map(|x| V::Str(format!("0x{x:02x}"))).collect())
}

/// A JSON value whose objects keep their key order (bpftool's order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Raw(String),
    Str(String),
    Arr(Vec<V>),
    Obj(Vec<(String, V)>),
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// bpftool's json_writer: compact, or pretty with its peculiar layout
/// (object members on their own lines, array elements not).
pub(crate) struct Jw {
    pub out: String,
    pretty: bool,
    depth: usize,
    sep: bool,
}

impl Jw {
    pub(crate) fn new(pretty: bool) -> Jw {
        Jw {
            out: String::new(),
            pretty,
            depth: 0,
            sep: false,
        }
    }
    fn eor(&mut self) {
        if self.sep {
            self.out.push(',');
        }
        self.sep = true;
    }
    fn eol(&mut self) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
        }
    }
    pub(crate) fn begin(&mut self, c: char) {
        self.eor();
        self.out.push(c);
        self.depth += 1;
        self.sep = false;
    }
    pub(crate) fn end(&mut self, c: char) {
        self.depth = self.depth.saturating_sub(1);
        if self.sep {
            self.eol();
        }
        self.out.push(c);
        self.sep = true;
    }
    pub(crate) fn name(&mut self, n: &str) {
        self.eor();
        self.eol();
        self.sep = false;
        json_str(&mut self.out, n);
        self.out.push(':');
        if self.pretty {
            self.out.push(' ');
        }
    }
    pub(crate) fn value(&mut self, v: &V) {
        match v {
            V::Raw(r) => {
                self.eor();
                self.out.push_str(r);
            }
            V::Str(s) => {
                self.eor();
                json_str(&mut self.out, s);
            }
            V::Arr(a) => {
                self.begin('[');
                for x in a {
                    self.value(x);
                }
                self.end(']');
            }
            V::Obj(o) => {
                self.begin('{');
                for (k, x) in o {
                    self.name(k);
                    self.value(x);
                }
                self.end('}');
            }
        }
    }
}

/// A serde value as a [`V`], object keys in `order` first (bpftool's
/// order), then any others (serde keeps objects sorted).
pub(crate) fn from_json(v: &serde_json::Value, order: &[&str]) -> V {
    match v {
        serde_json::Value::Object(o) => {
            let mut out: Vec<(String, V)> = order
                .iter()
                .filter_map(|k| o.get(*k).map(|x| (k.to_string(), from_json(x, &[]))))
                .collect();
            for (k, x) in o {
                if !order.contains(&k.as_str()) {
                    out.push((k.clone(), from_json(x, &[])));
                }
            }
            V::Obj(out)
        }
        serde_json::Value::Array(a) => V::Arr(a.iter().map(|x| from_json(x, order)).collect()),
        serde_json::Value::String(s) => V::Str(s.clone()),
        other => V::Raw(other.to_string()),
    }
}

/// The compact JSON text of `v`.
pub(crate) fn compact(v: &V) -> String {
    let mut w = Jw::new(false);
    w.value(v);
    w.out
}

/// Formats `data` as BTF type `id` says, as bpftool's `btf_dumper` does;
/// `plain` for its text output, which differs from its JSON in bitfields
/// (`0x5` there, `"0x5"` in JSON).
pub(crate) fn btf_value(btf: &Btf, id: u32, data: &[u8], plain: bool) -> V {
    fmt_type(btf, id, data, 0, plain)
}

fn le(data: &[u8]) -> u128 {
    let mut v = 0u128;
    for (i, b) in data.iter().take(16).enumerate() {
        v |= (*b as u128) << (8 * i);
    }
    v
}

fn fmt_type(btf: &Btf, id: u32, data: &[u8], depth: u32, plain: bool) -> V {
    if depth > 32 {
        return V::Raw("null".into());
    }
    let name = |off| btf.name_by_offset(off).unwrap_or("").to_string();
    match btf.get(id) {
        Ok(Type::Int(i)) => {
            let size = (i.size as usize).min(data.len());
            let mut raw = le(&data[..size]);
            if i.bits as u32 != i.size * 8 || i.bit_offset != 0 {
                raw = (raw >> i.bit_offset) & ((1u128 << i.bits.min(127)) - 1);
            }
            fmt_int(raw, i.bits as u32, i.encoding)
        }
        Ok(Type::Typedef(r))
        | Ok(Type::Const(r))
        | Ok(Type::Volatile(r))
        | Ok(Type::Restrict(r))
        | Ok(Type::TypeTag(r)) => fmt_type(btf, r.type_id, data, depth + 1, plain),
        Ok(Type::Ptr(_)) => V::Raw(format!("{}", le(&data[..data.len().min(8)]))),
        Ok(Type::Enum(e)) | Ok(Type::Enum64(e)) => {
            let raw = le(&data[..(e.size as usize).min(data.len())]) as u64;
            match e.values.iter().find(|v| v.value == raw) {
                Some(v) => V::Str(name(v.name_off)),
                None => V::Raw(raw.to_string()),
            }
        }
        Ok(Type::Array(a)) => {
            let esize = btf.size_of(a.elem_type).unwrap_or(0) as usize;
            let elem = btf.resolve(a.elem_type).unwrap_or(a.elem_type);
            let is_char = matches!(btf.get(elem), Ok(Type::Int(i)) if i.size == 1
                && (i.encoding == IntEncoding::Char || btf.name_by_offset(i.name_off) == Some("char")));
            let total = (esize * a.nelems as usize).min(data.len());
            if is_char {
                let bytes = &data[..total];
                let end = bytes.iter().position(|&b| b == 0);
                if let Some(end) = end {
                    if bytes[..end]
                        .iter()
                        .all(|b| b.is_ascii_graphic() || *b == b' ')
                    {
                        return V::Str(String::from_utf8_lossy(&bytes[..end]).into_owned());
                    }
                }
            }
            if esize == 0 {
                return V::Arr(Vec::new());
            }
            V::Arr(
                data[..total]
                    .chunks(esize)
                    .map(|c| fmt_type(btf, a.elem_type, c, depth + 1, plain))
                    .collect(),
            )
        }
        Ok(Type::Struct(c)) | Ok(Type::Union(c)) => {
            let mut fields = Vec::new();
            for m in &c.members {
                let off = (m.bit_offset / 8) as usize;
                if off > data.len() {
                    continue;
                }
                let v = if m.bitfield_size > 0 {
                    let bit = m.bit_offset % 8;
                    let nbytes =
                        ((bit + m.bitfield_size as u32).div_ceil(8) as usize).min(data.len() - off);
                    let raw = le(&data[off..off + nbytes]) >> bit;
                    let raw = raw & ((1u128 << m.bitfield_size) - 1);
                    // bpftool prints bitfields in hex: bare in text,
                    // quoted in JSON.
                    if plain {
                        V::Raw(format!("{raw:#x}"))
                    } else {
                        V::Str(format!("{raw:#x}"))
                    }
                } else {
                    fmt_type(btf, m.type_id, &data[off..], depth + 1, plain)
                };
                // Anonymous members are named "" as bpftool names them.
                fields.push((name(m.name_off), v));
            }
            V::Obj(fields)
        }
        // Global data: `{".rodata": [{"var": value}, …]}`.
        Ok(Type::DataSec(ds)) => {
            let vars = ds
                .vars
                .iter()
                .filter_map(|v| {
                    let off = v.offset as usize;
                    let end = off.checked_add(v.size as usize)?;
                    Some(fmt_type(
                        btf,
                        v.type_id,
                        data.get(off..end)?,
                        depth + 1,
                        plain,
                    ))
                })
                .collect();
            V::Obj(vec![(name(ds.name_off), V::Arr(vars))])
        }
        Ok(Type::Var(v)) => V::Obj(vec![(
            name(v.name_off),
            fmt_type(btf, v.type_id, data, depth + 1, plain),
        )]),
        Ok(Type::Float(f)) => {
            let v = match f.size {
                4 => f32::from_le_bytes(
                    data.get(..4)
                        .and_then(|d| d.try_into().ok())
                        .unwrap_or([0; 4]),
                ) as f64,
                8 => f64::from_le_bytes(
                    data.get(..8)
                        .and_then(|d| d.try_into().ok())
                        .unwrap_or([0; 8]),
                ),
                _ => 0.0,
            };
            V::Raw(format!("{v}"))
        }
        _ => V::Raw("null".into()),
    }
}

fn fmt_int(raw: u128, bits: u32, enc: IntEncoding) -> V {
    match enc {
        IntEncoding::Bool => V::Raw(if raw != 0 { "true" } else { "false" }.into()),
        IntEncoding::Signed if bits > 0 && bits <= 128 => {
            let shift = 128 - bits;
            let v = ((raw << shift) as i128) >> shift;
            V::Raw(v.to_string())
        }
        _ => V::Raw(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        let mut a = Args::new(vec![
            "1".into(),
            "0x10".into(),
            "010".into(),
            "0".into(),
            "value".into(),
        ]);
        assert_eq!(parse_bytes(&mut a, "key", 4).unwrap(), vec![1, 16, 8, 0]);
        assert_eq!(a.peek(), Some("value"));
        let mut a = Args::new(vec!["hex".into(), "01".into(), "ff".into()]);
        assert_eq!(parse_bytes(&mut a, "key", 2).unwrap(), vec![1, 255]);
        let mut a = Args::new(vec!["1".into()]);
        assert!(parse_bytes(&mut a, "key", 4).is_err());
        let mut a = Args::new(vec!["256".into()]);
        assert!(parse_bytes(&mut a, "key", 1).is_err());
    }

    #[test]
    fn bpftool_layout() {
        let v = V::Arr(vec![V::Obj(vec![
            ("key".into(), V::Raw("0".into())),
            ("value".into(), V::Raw("1".into())),
        ])]);
        let mut w = Jw::new(true);
        w.value(&v);
        assert_eq!(
            w.out,
            "[{\n        \"key\": 0,\n        \"value\": 1\n    }\n]"
        );
        assert_eq!(compact(&v), "[{\"key\":0,\"value\":1}]");
    }
}
