//! `oxbpf`: the command line, modelled on bpftool (see `shared/CLI.md`).
//!
//! clap parses the global flags and the noun; each noun's module parses its
//! verb and bpftool-style keyword arguments (`data_in FILE repeat N`) with
//! [`args::Args`], since bpftool's grammar is keyword-driven rather than
//! `--flag` driven.
// `deny`, not `forbid`: the one exception is running a program compiled by
// the JIT without a verifier (`cmd::conformance::run_jit_vetted`), which
// must say `unsafe` and why.
#![deny(unsafe_code)]

mod args;
mod cmd;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// eBPF in user space: assemble, load, verify, run and inspect eBPF programs
/// and maps the way bpftool does with the kernel.
#[derive(Parser)]
#[command(name = "oxbpf", version, about, disable_help_subcommand = true)]
struct Cli {
    /// Print JSON output.
    #[arg(short = 'j', long = "json", global = true)]
    json: bool,
    /// Print pretty-printed JSON output (implies --json).
    #[arg(short = 'p', long = "pretty", global = true)]
    pretty: bool,
    /// Show pinned paths (bpftool's `-f`; oxbpf always shows them).
    #[arg(short = 'f', long = "bpffs", global = true)]
    _bpffs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble a source file: `asm FILE [out OUT] [syntax llvm|conformance]`.
    Asm(Rest),
    /// Disassemble an object or raw bytecode: `disasm FILE [section SEC] [syntax ...]`.
    Disasm(Rest),
    /// Dump BTF type information: `btf dump file OBJ [format raw|c]`.
    Btf(Rest),
    /// Show what an eBPF object file holds: `object show OBJ`.
    Object(Rest),
    /// Programs: `prog verify|run|load|show|dump …` (see `prog help`).
    Prog(Rest),
    /// Maps: `map show|create|dump|lookup|update|delete|getnext|pin|freeze …` (see `map help`).
    Map(Rest),
    /// What this build supports: instructions, program types, map types, helpers.
    Feature(Rest),
    /// Run raw or assembled bytecode over a memory file: `run FILE [mem FILE] [engine interp|jit]`.
    Run(Rest),
    /// Classic BPF translated to eBPF: `cbpf FILE [dump | run INPUT [out FILE]]`.
    Cbpf(Rest),
    /// Run a filter over a capture: `pcap cbpf FILTER INPUT [out FILE]`.
    Pcap(Rest),
    /// Speak the bpf_conformance plugin protocol (program on stdin).
    #[command(name = "conformance-plugin")]
    ConformancePlugin(Rest),
}

/// The words after the noun, parsed by the noun's module.
#[derive(clap::Args)]
struct Rest {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Lets a closed pipe (`oxbpf … | head`) end the process quietly, as it
/// ends bpftool and every C tool, instead of making `println!` panic.
#[allow(unsafe_code)]
fn default_sigpipe() {
    // SAFETY: restoring the default disposition of SIGPIPE at the start of
    // `main`, before any thread exists; no handler code is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    default_sigpipe();
    let cli = Cli::parse_from(cmd::conformance::runner_argv(std::env::args_os().collect()));
    let out = output::Output::new(cli.json || cli.pretty, cli.pretty);
    let result = match cli.command {
        Command::Asm(r) => cmd::asm::run(&out, r.args),
        Command::Disasm(r) => cmd::disasm::run(&out, r.args),
        Command::Run(r) => cmd::run::run(&out, r.args),
        Command::Prog(r) => cmd::prog::run(&out, r.args),
        Command::Map(r) => cmd::map::run(&out, r.args),
        Command::Feature(r) => cmd::feature::run(&out, r.args),
        Command::Btf(r) => cmd::btf::run(&out, r.args),
        Command::Object(r) => cmd::object::run(&out, r.args),
        Command::Cbpf(r) => cmd::cbpf::run(&out, r.args),
        Command::Pcap(r) => cmd::pcap::run(&out, r.args),
        Command::ConformancePlugin(r) => return cmd::conformance::run(r.args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            ExitCode::from(255)
        }
    }
}
