//! The text forms of classic programs that tools print:
//!
//! * `tcpdump -ddd`: a count line, then one `code jt jf k` line per
//!   instruction, in decimal;
//! * `tcpdump -dd` (and `bpf_asm -c`): C initialisers,
//!   `{ 0x28, 0, 0, 0x0000000c },`;
//! * `bpf_asm` / `nfbpf_compile` (what `iptables -m bpf` and `tc` take): the
//!   same numbers as `-ddd` on one line, separated by commas:
//!   `4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0`.
//!
//! Blank lines and lines starting with `#` are skipped everywhere, so a
//! filter file can say where it came from.

use super::{CbpfError, ParseErrorKind, SockFilter};

/// Significant lines with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn err(line: usize, kind: ParseErrorKind) -> CbpfError {
    CbpfError::Parse { line, kind }
}

/// Reads any of the forms above, recognised by their first significant line.
pub fn parse_text(text: &str) -> Result<Vec<SockFilter>, CbpfError> {
    let Some((line, first)) = lines(text).next() else {
        return Err(CbpfError::Empty);
    };
    if first.starts_with('{') {
        parse_dd(text)
    } else if first.contains(',') {
        parse_comma(line, first)
    } else if first.split_whitespace().count() == 1 {
        parse_ddd(text)
    } else {
        Err(err(
            line,
            ParseErrorKind::Unrecognised {
                text: first.chars().take(60).collect(),
            },
        ))
    }
}

/// A number of at most `max`: decimal, `0x` hexadecimal, or a negative
/// decimal (some tools print `k` signed) taken as its two's complement.
fn number(line: usize, field: &'static str, text: &str, max: u64) -> Result<u64, CbpfError> {
    let bad = || {
        err(
            line,
            ParseErrorKind::BadField {
                field,
                text: text.to_string(),
            },
        )
    };
    let v = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).map_err(|_| bad())?
    } else if let Some(neg) = text.strip_prefix('-') {
        let n: i64 = neg.parse().map_err(|_| bad())?;
        if max != u32::MAX as u64 || n > i32::MIN.unsigned_abs() as i64 {
            return Err(bad());
        }
        (-n) as i32 as u32 as u64
    } else {
        text.parse().map_err(|_| bad())?
    };
    if v > max {
        return Err(bad());
    }
    Ok(v)
}

/// One instruction from its four fields.
fn insn(line: usize, fields: &[&str]) -> Result<SockFilter, CbpfError> {
    let [code, jt, jf, k] = fields else {
        return Err(err(
            line,
            ParseErrorKind::FieldCount {
                found: fields.len(),
            },
        ));
    };
    Ok(SockFilter {
        code: number(line, "code", code, u16::MAX as u64)? as u16,
        jt: number(line, "jt", jt, u8::MAX as u64)? as u8,
        jf: number(line, "jf", jf, u8::MAX as u64)? as u8,
        k: number(line, "k", k, u32::MAX as u64)? as u32,
    })
}

fn count(line: usize, text: &str) -> Result<usize, CbpfError> {
    Ok(number(line, "count", text, u32::MAX as u64)? as usize)
}

fn check_count(line: usize, declared: usize, found: usize) -> Result<(), CbpfError> {
    if declared != found {
        return Err(err(line, ParseErrorKind::CountMismatch { declared, found }));
    }
    Ok(())
}

/// Reads `tcpdump -ddd` output.
pub fn parse_ddd(text: &str) -> Result<Vec<SockFilter>, CbpfError> {
    let mut it = lines(text);
    let Some((count_line, first)) = it.next() else {
        return Err(CbpfError::Empty);
    };
    let declared = count(count_line, first)?;
    let prog = it
        .map(|(n, l)| insn(n, &l.split_whitespace().collect::<Vec<_>>()))
        .collect::<Result<Vec<_>, _>>()?;
    check_count(count_line, declared, prog.len())?;
    Ok(prog)
}

/// Reads `tcpdump -dd` output.
pub fn parse_dd(text: &str) -> Result<Vec<SockFilter>, CbpfError> {
    let mut prog = Vec::new();
    for (n, l) in lines(text) {
        let body = l
            .strip_prefix('{')
            .and_then(|b| b.trim_end_matches(',').trim_end().strip_suffix('}'))
            .ok_or_else(|| {
                err(
                    n,
                    ParseErrorKind::Unrecognised {
                        text: l.chars().take(60).collect(),
                    },
                )
            })?;
        let fields: Vec<&str> = body.split(',').map(str::trim).collect();
        prog.push(insn(n, &fields)?);
    }
    if prog.is_empty() {
        return Err(CbpfError::Empty);
    }
    Ok(prog)
}

/// Reads the one-line `bpf_asm` form: `N,code jt jf k,code jt jf k,...`.
fn parse_comma(line: usize, text: &str) -> Result<Vec<SockFilter>, CbpfError> {
    let mut parts = text.trim_end_matches(',').split(',').map(str::trim);
    let declared = count(line, parts.next().unwrap_or(""))?;
    let prog = parts
        .map(|p| insn(line, &p.split_whitespace().collect::<Vec<_>>()))
        .collect::<Result<Vec<_>, _>>()?;
    check_count(line, declared, prog.len())?;
    Ok(prog)
}
