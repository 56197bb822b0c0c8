//! `oxbpf prog run PROG data_in FILE [data_out FILE] [ctx_in FILE]
//! [ctx_out FILE] [repeat N] [engine interp|jit]`: `BPF_PROG_TEST_RUN`.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::process::ExitCode;

pub fn run(_out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = oxbpf::Runtime::new();
    let _prog = super::resolve(&rt, &mut args)?;
    Err(cli_err!("prog run: test-run is not wired yet"))
}
