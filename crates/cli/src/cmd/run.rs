//! (to be written)
use crate::args::CliResult;
use crate::output::Output;
use std::process::ExitCode;

pub fn run(_out: &Output, _args: Vec<String>) -> CliResult<ExitCode> {
    Err(crate::cli_err!("not implemented yet"))
}
