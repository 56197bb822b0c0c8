//! `oxbpf asm FILE [out OUT] [syntax llvm|conformance]`: assembles a text
//! file into raw bytecode (8-byte little-endian slots, as the kernel takes
//! them). Without `out` the bytes are printed in hex, one instruction slot
//! per line. A conformance test file (`*.data`) is read from its `-- asm`
//! section, in the conformance syntax unless `syntax` says otherwise.
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use isa::asm::{assemble, Syntax};
use isa::RawInsn;
use std::process::ExitCode;

/// The `-- asm` section of a conformance test file, if `text` is one.
fn conformance_asm_section(text: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("-- asm"));
    lines.next()?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("--")).collect();
    Some(body.join("\n") + "\n")
}

pub fn run(out: &Output, args: Vec<String>) -> CliResult<ExitCode> {
    let mut a = Args::new(args);
    let file = a.next("FILE")?;
    let mut out_path = None;
    let mut syntax = None;
    while let Some(kw) = a.next_opt() {
        match kw.as_str() {
            "out" => out_path = Some(a.next("OUT")?),
            "syntax" => {
                let s = a.next("syntax (llvm|conformance)")?;
                syntax = Some(Syntax::from_name(&s).ok_or_else(|| {
                    cli_err!("invalid syntax '{s}': expected llvm or conformance")
                })?);
            }
            w => return Err(cli_err!("unexpected argument '{w}'")),
        }
    }
    let text = std::fs::read_to_string(&file).map_err(|e| cli_err!("{file}: {e}"))?;
    let (text, default) = match conformance_asm_section(&text) {
        Some(section) => (section, Syntax::Conformance),
        None => (text, Syntax::Llvm),
    };
    let slots = assemble(&text, syntax.unwrap_or(default)).map_err(|e| cli_err!("{file}: {e}"))?;
    let bytes = RawInsn::slice_to_bytes(&slots);
    if let Some(path) = out_path {
        std::fs::write(&path, &bytes).map_err(|e| cli_err!("{path}: {e}"))?;
        if out.json {
            out.print_json(&serde_json::json!({ "insns": slots.len(), "bytes": bytes.len() }));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let lines: Vec<String> = bytes
        .chunks(RawInsn::SIZE)
        .map(|c| {
            c.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if out.json {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        out.print_json(&serde_json::json!({ "insns": slots.len(), "hex": hex }));
    } else {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
