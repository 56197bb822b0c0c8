//! `oxbpf prog show [PROG]`: bpftool's fields, text and JSON.
//!
//! ```text
//! 7: xdp  name count_runs  tag 0123456789abcdef  gpl
//!     loaded_at 2026-12-06T23:50:01+0000  uid 0
//!     xlated 104B  jited 260B  memlock 4096B  map_ids 5,6
//!     btf_id 3
//! ```
//! `jited` is the size of the code the runtime's JIT makes of the program
//! (what runs when the runtime's engine is the JIT, its default); `not
//! jited` when the engine is the interpreter or the JIT cannot compile it.

// Output that a closed pipe (`| head`) ends quietly instead of panicking.
macro_rules! print {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

use super::pin::{fs, runtime};
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use oxbpf::pin::{ObjKind, ProgInfo};
use serde_json::json;
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

pub fn run(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let fs = fs(&rt)?;
    let by_name = args.peek() == Some("name");
    // bpftool prints one object (not an array) when PROG names one.
    let mut single = args.peek().is_some() && !by_name;
    let ids = if by_name {
        // bpftool shows every program of that name.
        args.next_opt();
        let name = args.next("a program name")?;
        args.finish()?;
        let ids: Vec<u32> = fs
            .ids(ObjKind::Prog)
            .map_err(|e| cli_err!("{e}"))?
            .into_iter()
            .filter(|&id| fs.program_info(id).is_ok_and(|i| i.name == name))
            .collect();
        if ids.is_empty() {
            return Err(cli_err!("can't find program named '{name}'"));
        }
        single = ids.len() == 1;
        ids
    } else if single {
        let p = super::resolve(&rt, &mut args)?;
        args.finish()?;
        vec![p.id()]
    } else {
        fs.ids(ObjKind::Prog).map_err(|e| cli_err!("{e}"))?
    };
    let mut infos = Vec::new();
    for id in ids {
        match fs.program_info(id) {
            Ok(i) => {
                let jited = jited_bytes(&rt, fs, id);
                infos.push((i, jited));
            }
            Err(e) => return Err(cli_err!("can't get prog info (id {id}): {e}")),
        }
    }
    if out.json {
        let v: Vec<serde_json::Value> = infos.iter().map(|(i, j)| to_json(i, *j, fs)).collect();
        const ORDER: &[&str] = &[
            "id",
            "type",
            "name",
            "tag",
            "gpl_compatible",
            "loaded_at",
            "uid",
            "bytes_xlated",
            "jited",
            "bytes_jited",
            "bytes_memlock",
            "map_ids",
            "btf_id",
            "pinned",
        ];
        let v = if single && v.len() == 1 {
            v.into_iter().next().unwrap_or_default()
        } else {
            serde_json::Value::Array(v)
        };
        crate::cmd::map::print_v(out, &crate::cmd::map::fmt::from_json(&v, ORDER));
    } else {
        for i in &infos {
            print!("{}", to_text(&i.0, i.1, fs));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Bytes the kernel would charge: the xlated image in whole pages.
fn memlock(i: &ProgInfo) -> u64 {
    ((i.xlated_len as u64 * 8).max(1)).next_multiple_of(4096)
}

fn type_name(i: &ProgInfo) -> String {
    i.prog_type
        .map_or_else(|| "unknown".to_string(), |t| t.name().to_string())
}

/// Bytes of the JIT's code for program `id`, restored in `rt` (none when
/// the runtime interprets or the JIT refuses the program).
fn jited_bytes(rt: &oxbpf::Runtime, fs: &oxbpf::pin::PinFs, id: u32) -> Option<usize> {
    if rt.options().engine != oxbpf::Engine::Jit {
        return None;
    }
    let p = fs.program_by_id(rt, id).ok()?;
    p.jited().map(|c| c.code().len())
}

fn to_json(i: &ProgInfo, jited: Option<usize>, fs: &oxbpf::pin::PinFs) -> serde_json::Value {
    let secs = i
        .loaded_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut v = json!({
        "id": i.id,
        "type": type_name(i),
        "name": i.name,
        "tag": isa::tag::tag_hex(&i.tag()),
        "gpl_compatible": i.gpl_compatible(),
        "loaded_at": secs,
        "uid": i.uid,
        "bytes_xlated": i.xlated_len * 8,
        "jited": jited.is_some(),
        "bytes_memlock": memlock(i),
        "map_ids": i.map_ids,
    });
    if let Some(n) = jited {
        v["bytes_jited"] = json!(n);
    }
    if let Some(b) = i.btf_id {
        v["btf_id"] = json!(b);
    }
    let pins: Vec<String> = fs
        .pins_of(ObjKind::Prog, i.id)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if !pins.is_empty() {
        v["pinned"] = json!(pins);
    }
    v
}

fn to_text(i: &ProgInfo, jited: Option<usize>, fs: &oxbpf::pin::PinFs) -> String {
    let mut s = format!("{}: {}  ", i.id, type_name(i));
    if !i.name.is_empty() {
        s += &format!("name {}  ", i.name);
    }
    s += &format!("tag {}", isa::tag::tag_hex(&i.tag()));
    if i.gpl_compatible() {
        s += "  gpl";
    }
    s += "\n";
    let secs = i
        .loaded_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    s += &format!("\tloaded_at {}  uid {}\n", utc_time(secs), i.uid);
    let jit = jited.map_or_else(|| "not jited".to_string(), |n| format!("jited {n}B"));
    s += &format!(
        "\txlated {}B  {jit}  memlock {}B",
        i.xlated_len * 8,
        memlock(i)
    );
    if !i.map_ids.is_empty() {
        let ids: Vec<String> = i.map_ids.iter().map(u32::to_string).collect();
        s += &format!("  map_ids {}", ids.join(","));
    }
    s += "\n";
    for p in fs.pins_of(ObjKind::Prog, i.id) {
        s += &format!("\tpinned {}\n", p.display());
    }
    if let Some(b) = i.btf_id {
        s += &format!("\tbtf_id {b}\n");
    }
    s
}

/// `strftime("%FT%T%z")` of a UTC time (the civil-from-days algorithm).
pub(crate) fn utc_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc() {
        assert_eq!(super::utc_time(0), "1970-01-01T00:00:00+0000");
        assert_eq!(super::utc_time(1_700_000_000), "2023-11-14T22:13:20+0000");
    }
}
