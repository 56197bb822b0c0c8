//! `oxbpf prog run PROG [data_in FILE] [data_out FILE] [data_size_out N]
//! [ctx_in FILE] [ctx_out FILE] [ctx_size_out N] [repeat N] [engine
//! interp|jit]`: `BPF_PROG_TEST_RUN`, printed as `bpftool prog run` prints
//! it: `Return value: R, duration (average): Dns` (and the output files
//! written); JSON `{"retval":R,"duration":D}` (bpftool's names; D in ns,
//! average per run). `-` as a file name means standard input or output.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::io::{Read, Write};
use std::process::ExitCode;

fn read_input(path: &str) -> CliResult<Vec<u8>> {
    if path == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .map_err(|e| cli_err!("stdin: {e}"))?;
        return Ok(v);
    }
    std::fs::read(path).map_err(|e| cli_err!("failed to read {path}: {e}"))
}

fn write_output(path: &str, data: &[u8]) -> CliResult<()> {
    if path == "-" {
        return std::io::stdout()
            .write_all(data)
            .map_err(|e| cli_err!("stdout: {e}"));
    }
    std::fs::write(path, data).map_err(|e| cli_err!("failed to write {path}: {e}"))
}

fn number(args: &mut Args, what: &str) -> CliResult<u32> {
    let w = args.next(what)?;
    let n = if let Some(h) = w.strip_prefix("0x") {
        u32::from_str_radix(h, 16).ok()
    } else {
        w.parse().ok()
    };
    n.ok_or_else(|| cli_err!("invalid {what} '{w}': expected a number"))
}

pub fn run(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    // The pin directory's runtime: ids shared with other processes,
    // trace_printk lines to `prog tracelog` (as Linux sends them to
    // trace_pipe); a plain one when there is no usable pin directory.
    let rt = crate::cmd::prog::pin::runtime().unwrap_or_else(|_| oxbpf::Runtime::new());
    let prog = super::resolve(&rt, &mut args)?;
    let (mut data_in, mut ctx_in) = (None, None);
    let (mut data_out, mut ctx_out) = (None, None);
    let (mut data_size_out, mut ctx_size_out) = (None, None);
    let mut repeat = 1;
    let mut engine = None;
    while let Some(kw) = args.next_opt() {
        match kw.as_str() {
            "data_in" => data_in = Some(read_input(&args.next("data_in FILE")?)?),
            "data_out" => data_out = Some(args.next("data_out FILE")?),
            "data_size_out" => data_size_out = Some(number(&mut args, "data_size_out")?),
            "ctx_in" => ctx_in = Some(read_input(&args.next("ctx_in FILE")?)?),
            "ctx_out" => ctx_out = Some(args.next("ctx_out FILE")?),
            "ctx_size_out" => ctx_size_out = Some(number(&mut args, "ctx_size_out")?),
            "repeat" => repeat = number(&mut args, "repeat")?,
            "engine" => engine = Some(super::parse_engine(&mut args)?),
            other => return Err(cli_err!("unexpected argument '{other}'")),
        }
    }
    let data = data_in.unwrap_or_default();
    // As bpftool: an output file without a size gets a buffer with room
    // to spare (bpftool allocates 128 KiB for data_out).
    let input = oxbpf::TestRunInput {
        data_in: &data,
        data_size_out: data_out
            .as_ref()
            .map(|_| data_size_out.unwrap_or(128 * 1024)),
        ctx_in: ctx_in.as_deref(),
        ctx_size_out: ctx_out
            .as_ref()
            .map(|_| ctx_size_out.unwrap_or(ctx_in.as_ref().map_or(4096, |c| c.len() as u32))),
        repeat,
        ..Default::default()
    };
    let engine = engine.unwrap_or_else(|| prog.engine());
    if engine == oxbpf::Engine::Jit && prog.jited().is_none() {
        return Err(cli_err!(
            "the JIT cannot compile program '{}': {}",
            prog.name(),
            prog.jit_error().unwrap_or_default()
        ));
    }
    let res = prog
        .test_run_on(&input, engine)
        .map_err(|e| cli_err!("failed to run program: {e}"))?;
    if let Some(p) = &data_out {
        write_output(p, &res.data_out)?;
    }
    if let Some(p) = &ctx_out {
        write_output(p, &res.ctx_out)?;
    }
    if out.json {
        out.print_json(&serde_json::json!({
            "retval": res.retval,
            "duration": res.duration_ns,
        }));
    } else {
        let line = format!(
            "Return value: {}, duration{}: {}ns",
            res.retval,
            if repeat > 1 { " (average)" } else { "" },
            res.duration_ns
        );
        // Standard output may be carrying data_out or ctx_out.
        if data_out.as_deref() == Some("-") || ctx_out.as_deref() == Some("-") {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
