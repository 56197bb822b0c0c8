//! `oxbpf object show OBJ`: what an eBPF object file holds, as
//! oxbpf-object (and libbpf) open it — programs with their section, type
//! and size, maps, externs, BTF presence and license.
//!
//! JSON (`-j`/`-p`) is the contract of `shared/CLI.md`:
//! `{"programs":[{"section":S,"name":FUNC,"type":"xdp","insns":N}],
//! "maps":[{"name":..,"type":"hash","key_size":..,"value_size":..,
//! "max_entries":..,"flags":..}],"btf":true,"license":"GPL"}`, where
//! `insns` is the function's own instruction count (its symbol size / 8)
//! and `type` is bpftool's name; more fields are added after those.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use oxbpf_object::{CoreTarget, ExternKind, MapKind, ObjectSpec, ParseOptions};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

pub fn run(out: &Output, words: Vec<String>) -> CliResult<ExitCode> {
    let mut args = Args::new(words);
    match args.next("an object command (show)")?.as_str() {
        "show" | "list" => {
            let path = args.next("an object file")?;
            args.finish()?;
            show(out, &path)
        }
        "help" => {
            println!("Usage: oxbpf object show OBJ");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(cli_err!("unknown object command '{other}', expected: show")),
    }
}

fn show(out: &Output, path: &str) -> CliResult<ExitCode> {
    // Showing needs no CO-RE target: the listing is about the file.
    let opts = ParseOptions {
        core: CoreTarget::None,
        ..ParseOptions::default()
    };
    let spec = ObjectSpec::open_with(path, &opts).map_err(|e| cli_err!("{e}"))?;
    let text = if out.json {
        let v = to_json(&spec);
        let s = if out.pretty {
            serde_json::to_string_pretty(&v)
        } else {
            serde_json::to_string(&v)
        };
        s.map_err(|e| cli_err!("{e}"))? + "\n"
    } else {
        to_text(path, &spec)
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> CliResult<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(cli_err!("{e}")),
        _ => Ok(()),
    }
}

fn map_json(m: &oxbpf_object::MapSpec) -> Value {
    let mut v = json!({
        "name": m.name,
        "type": m.map_type.name(),
        "key_size": m.key_size,
        "value_size": m.value_size,
        "max_entries": m.max_entries,
        "flags": m.flags,
        "section": m.section,
    });
    if let Some(inner) = &m.inner {
        v["inner"] = map_json(inner);
    }
    v
}

fn to_json(spec: &ObjectSpec) -> Value {
    let programs: Vec<Value> = spec
        .programs
        .iter()
        .map(|p| {
            let mut v = json!({
                "section": p.section,
                "name": p.name,
                "type": p.prog_type.name(),
                "insns": p.func_insns,
                "linked_insns": p.insns.len(),
                "autoload": p.autoload,
            });
            if let Some(a) = p.expected_attach_type {
                v["expected_attach_type"] = json!(a.name());
            }
            if let Some(t) = &p.attach_target {
                v["attach_target"] = json!(t);
            }
            v
        })
        .collect();
    let externs: Vec<Value> = spec
        .externs
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "kind": match e.kind { ExternKind::Kconfig { .. } => "kconfig", ExternKind::Ksym { .. } => "ksym" },
                "weak": e.weak,
                "resolved": e.resolved,
            })
        })
        .collect();
    json!({
        "programs": programs,
        "maps": spec.maps.iter().map(map_json).collect::<Vec<_>>(),
        "btf": spec.btf.is_some(),
        "license": spec.license,
        "kern_version": spec.kern_version,
        "externs": externs,
    })
}

fn to_text(path: &str, spec: &ObjectSpec) -> String {
    let mut s = String::new();
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        s,
        "{path}: name {}  license {:?}  btf {}  kern_version {:#x}",
        spec.name,
        spec.license,
        yes(spec.btf.is_some()),
        spec.kern_version
    );
    let _ = writeln!(s, "programs:");
    for p in &spec.programs {
        let _ = write!(
            s,
            "\t{}: {}  section {}  insns {}",
            p.name,
            p.prog_type.name(),
            p.section,
            p.func_insns
        );
        if p.insns.len() != p.func_insns {
            let _ = write!(s, " ({} linked)", p.insns.len());
        }
        if let Some(a) = p.expected_attach_type {
            let _ = write!(s, "  attach_type {}", a.name());
        }
        if let Some(t) = &p.attach_target {
            let _ = write!(s, "  target {t}");
        }
        if !p.autoload {
            let _ = write!(s, "  autoload no");
        }
        if p.prog_type == uapi::ProgType::Unspec {
            let _ = write!(s, "  (section not recognised)");
        }
        s.push('\n');
    }
    let _ = writeln!(s, "maps:");
    for (i, m) in spec.maps.iter().enumerate() {
        let origin = match &m.kind {
            MapKind::Legacy => "maps",
            MapKind::Btf => ".maps",
            MapKind::Data { section, .. } => section.as_str(),
        };
        let _ = writeln!(
            s,
            "\t{i}: {}  name {}  flags {:#x}  section {origin}\n\t\tkey {}B  value {}B  max_entries {}",
            m.map_type.name(),
            m.name,
            m.flags,
            m.key_size,
            m.value_size,
            m.max_entries
        );
    }
    if !spec.externs.is_empty() {
        let _ = writeln!(s, "externs:");
        for e in &spec.externs {
            let kind = match e.kind {
                ExternKind::Kconfig { .. } => "kconfig",
                ExternKind::Ksym { .. } => "ksym",
            };
            let state = match (e.resolved, e.weak) {
                (true, _) => "resolved",
                (false, true) => "unresolved (weak: 0)",
                (false, false) => "unresolved",
            };
            let _ = writeln!(s, "\t{}: {kind}  {state}", e.name);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> ObjectSpec {
        let path = format!("{}/../object/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let opts = ParseOptions {
            core: CoreTarget::None,
            ..ParseOptions::default()
        };
        ObjectSpec::open_with(path, &opts).unwrap()
    }

    #[test]
    fn json_contract() {
        let v = to_json(&spec("subprogs.bpf.o"));
        let p = &v["programs"][0];
        assert_eq!(
            (&p["section"], &p["name"], &p["type"], &p["insns"]),
            (&json!("xdp"), &json!("xdp_a"), &json!("xdp"), &json!(20))
        );
        assert_eq!(v["programs"][2]["type"], "sched_cls");
        let m = &v["maps"][0];
        assert_eq!(
            (
                &m["name"],
                &m["type"],
                &m["key_size"],
                &m["value_size"],
                &m["max_entries"],
                &m["flags"]
            ),
            (
                &json!("counts"),
                &json!("array"),
                &json!(4),
                &json!(8),
                &json!(4),
                &json!(0)
            )
        );
        assert_eq!(v["btf"], true);
        assert_eq!(v["license"], "GPL");
    }

    #[test]
    fn text_listing() {
        let t = to_text("x.o", &spec("nofunc.o"));
        assert!(
            t.starts_with("x.o: name nofunc  license \"GPL\"  btf no"),
            "{t}"
        );
        assert!(
            t.contains("\tsocket: socket_filter  section socket  insns 2\n"),
            "{t}"
        );
    }
}
