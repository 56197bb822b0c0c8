//! `oxbpf prog …`: programs, as `bpftool prog` handles them.
//!
//! `PROG := id ID | pinned PATH | name NAME | file OBJ [section SEC]
//! [program NAME]`; `file` loads the object in this process only.

mod dump;
mod load;
pub(crate) mod pin;
mod run;
mod show;
mod tracelog;
mod verify;

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::process::ExitCode;

pub fn run(out: &Output, words: Vec<String>) -> CliResult<ExitCode> {
    let mut args = Args::new(words);
    match args.next("a prog command (verify, run, …)")?.as_str() {
        "verify" => verify::run(out, args),
        "run" | "test_run" => run::run(out, args),
        "load" => load::run(out, args, false),
        "loadall" => load::run(out, args, true),
        "show" | "list" => show::run(out, args),
        "pin" => pin::run(out, args),
        "dump" => dump::run(out, args),
        "tracelog" => tracelog::run(out, args),
        "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(cli_err!("unknown prog command '{other}'\n{USAGE}")),
    }
}

const USAGE: &str = "Usage: oxbpf prog verify OBJ [section SEC] [program NAME] [type TYPE] [log_level N]
       oxbpf prog run PROG data_in FILE [data_out FILE] [ctx_in FILE] [ctx_out FILE] [repeat N] [engine interp|jit]
       oxbpf prog load OBJ PATH [type TYPE] [pinmaps DIR]
       oxbpf prog loadall OBJ DIR [type TYPE] [pinmaps DIR]
       oxbpf prog show [PROG]
       oxbpf prog pin PROG PATH
       oxbpf prog dump xlated PROG [linum] [opcodes] [visual]
       oxbpf prog dump jited PROG [opcodes]
       oxbpf prog tracelog
Pinned objects live in $OXBPF_FS (default $XDG_RUNTIME_DIR/oxbpf or /tmp/oxbpf-UID);
/sys/fs/bpf/NAME names $OXBPF_FS/NAME.
PROG := id ID | pinned PATH | name NAME | file OBJ [section SEC] [program NAME]";

/// The word after `engine`: `interp` or `jit`.
pub(crate) fn parse_engine(args: &mut Args) -> CliResult<oxbpf::Engine> {
    let e = args.next("engine (interp|jit)")?;
    oxbpf::Engine::from_name(&e)
        .ok_or_else(|| cli_err!("invalid engine '{e}': expected interp or jit"))
}

/// A program type as bpftool's `prog load … type TYPE` names it.
pub(crate) fn parse_prog_type(name: &str) -> CliResult<oxbpf::ProgType> {
    // bpftool accepts section-style names too ("tc", "classifier").
    let canonical = match name {
        "tc" | "classifier" => "sched_cls",
        "action" => "sched_act",
        "socket" => "socket_filter",
        "tracepoint" | "tp" => "tracepoint",
        "raw_tp" | "raw_tracepoint" => "raw_tracepoint",
        other => other,
    };
    oxbpf::ProgType::from_name(canonical).ok_or_else(|| cli_err!("invalid program type '{name}'"))
}

/// The program a `PROG` argument names, loaded into `rt`.
pub(crate) fn resolve(rt: &oxbpf::Runtime, args: &mut Args) -> CliResult<oxbpf::Program> {
    match args.next("PROG (id, pinned, name or file)")?.as_str() {
        "file" => {
            let path = args.next("an object file after 'file'")?;
            let mut section = None;
            let mut program = None;
            loop {
                match args.peek() {
                    Some("section") => {
                        args.next_opt();
                        section = Some(args.next("a section name")?);
                    }
                    Some("program") => {
                        args.next_opt();
                        program = Some(args.next("a program name")?);
                    }
                    _ => break,
                }
            }
            let obj = rt
                .load_file(&path, &oxbpf::LoadOptions::default())
                .map_err(|e| cli_err!("{e}"))?;
            let mut candidates: Vec<&oxbpf::Program> = obj.programs().iter().collect();
            if let Some(n) = &program {
                candidates.retain(|p| p.name() == n || n.starts_with(p.name()));
            }
            if let Some(s) = &section {
                let spec = oxbpf_object::ObjectSpec::open_with(
                    &path,
                    &oxbpf_object::ParseOptions {
                        core: oxbpf_object::CoreTarget::None,
                        ..Default::default()
                    },
                )
                .map_err(|e| cli_err!("{e}"))?;
                let names: Vec<String> = spec
                    .programs
                    .iter()
                    .filter(|p| &p.section == s)
                    .map(|p| p.name.clone())
                    .collect();
                candidates.retain(|p| names.iter().any(|n| n.starts_with(p.name())));
            }
            match candidates.as_slice() {
                [p] => Ok((*p).clone()),
                [] => Err(cli_err!("{path}: no program matches")),
                many => Err(cli_err!(
                    "{path}: {} programs match ({}); name one with 'program NAME'",
                    many.len(),
                    many.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
                )),
            }
        }
        other => pin::resolve_prog(rt, other, args),
    }
}
