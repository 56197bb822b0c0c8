//! `oxbpf btf dump file OBJ [format raw|c]`, as `bpftool btf dump file`.
//!
//! OBJ is either a raw BTF blob (it starts with the BTF magic, like
//! `/sys/kernel/btf/vmlinux`) or an ELF object whose `.BTF` section is
//! dumped. The raw listing and its JSON form are bpftool's line for line;
//! the C form is a `vmlinux.h`-style header.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use btf::{dump, Btf};
use object::{Object, ObjectSection};
use std::io::Write;
use std::process::ExitCode;

pub fn run(out: &Output, words: Vec<String>) -> CliResult<ExitCode> {
    let mut args = Args::new(words);
    match args.next("a btf command (dump)")?.as_str() {
        "dump" => dump_cmd(out, &mut args),
        "help" => {
            println!("Usage: oxbpf btf dump file OBJ [format raw|c]");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(cli_err!("unknown btf command '{other}', expected: dump")),
    }
}

/// The dump formats bpftool offers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Raw,
    C,
}

fn dump_cmd(out: &Output, args: &mut Args) -> CliResult<ExitCode> {
    let src = args.next("BTF source ('file')")?;
    if src != "file" {
        return Err(cli_err!(
            "unrecognized BTF source specifier: '{src}' (only 'file' is supported)"
        ));
    }
    let path = args.next("a file name")?;
    let mut format = Format::Raw;
    while let Some(w) = args.next_opt() {
        match w.as_str() {
            "format" => {
                format = match args.next("a value for 'format'")?.as_str() {
                    "raw" => Format::Raw,
                    "c" => Format::C,
                    f => {
                        return Err(cli_err!(
                            "unrecognized format specifier: '{f}', possible values: raw, c"
                        ))
                    }
                }
            }
            _ => return Err(cli_err!("unrecognized option: '{w}'")),
        }
    }
    let btf = load(&path)?;
    let mut text = String::new();
    let fmt_err = |_| cli_err!("formatting failed");
    match (format, out.json) {
        (Format::C, true) => {
            return Err(cli_err!("JSON output for C-syntax dump is not supported"))
        }
        (Format::C, false) => dump::c::header(&btf, &mut text)
            .map_err(|e| cli_err!("failed to dump BTF from {path} as C: {e}"))?,
        (Format::Raw, false) => dump::raw(&btf, &mut text).map_err(fmt_err)?,
        (Format::Raw, true) => dump::json(&btf, out.pretty, &mut text).map_err(fmt_err)?,
    }
    if out.json {
        text.push('\n');
    }
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> CliResult<()> {
    let mut so = std::io::stdout().lock();
    match so.write_all(text.as_bytes()).and_then(|_| so.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Reads `.BTF` from a raw BTF file or from an ELF object.
pub fn load(path: &str) -> CliResult<Btf> {
    let bytes = std::fs::read(path).map_err(|e| cli_err!("failed to load BTF from {path}: {e}"))?;
    let fail = |e: &dyn std::fmt::Display| cli_err!("failed to load BTF from {path}: {e}");
    if matches!(bytes.get(..2), Some([0x9f, 0xeb]) | Some([0xeb, 0x9f])) {
        return Btf::parse(&bytes).map_err(|e| fail(&e));
    }
    let file = object::File::parse(&*bytes).map_err(|e| fail(&e))?;
    let section = file
        .section_by_name(".BTF")
        .ok_or_else(|| fail(&"no .BTF section"))?;
    let data = section.data().map_err(|e| fail(&e))?;
    Btf::parse(data).map_err(|e| fail(&format!(".BTF section: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> String {
        format!("{}/../btf/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn loads_elf_and_rejects_non_btf() {
        let btf = load(&data("maps.o")).expect("maps.o has BTF");
        assert!(btf.datasec(".maps").is_some());
        let err = load(&data("maps.c")).unwrap_err();
        assert!(err.0.contains("failed to load BTF from"), "{}", err.0);
    }

    #[test]
    fn raw_btf_files_are_detected_by_magic() {
        let btf = load(&data("maps.o")).unwrap();
        // Rebuild a raw blob from the section bytes of the object.
        let bytes = std::fs::read(data("maps.o")).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let raw = file
            .section_by_name(".BTF")
            .unwrap()
            .data()
            .unwrap()
            .to_vec();
        let path = std::env::temp_dir().join(format!("oxbpf-btf-test-{}.btf", std::process::id()));
        std::fs::write(&path, &raw).unwrap();
        let again = load(path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(btf, again);
    }
}
