//! `oxbpf prog tracelog`: the `bpf_trace_printk` lines of programs that
//! run in any process using the pin directory, as `bpftool prog tracelog`
//! streams `trace_pipe` — what nobody read yet, then new lines as they
//! come, until interrupted. Reading consumes the lines, as with
//! `trace_pipe`. `tracelog once` prints what is there and exits (for
//! scripts and tests).

use super::pin::{fs, runtime};
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let once = match args.next_opt().as_deref() {
        None => false,
        Some("once") => true,
        Some(other) => return Err(cli_err!("unknown keyword '{other}'")),
    };
    let rt = runtime()?;
    let reader = oxbpf::pin::TraceReader::new(fs(&rt)?.trace_path());
    let stdout = std::io::stdout();
    loop {
        let lines = reader
            .read_new()
            .map_err(|e| cli_err!("reading {}: {e}", reader.path().display()))?;
        let mut o = stdout.lock();
        for l in &lines {
            let r = if out.json {
                writeln!(o, "{}", serde_json::Value::String(l.clone()))
            } else {
                writeln!(o, "{l}")
            };
            if r.is_err() {
                // The reader went away (a closed pipe): stop quietly.
                return Ok(ExitCode::SUCCESS);
            }
        }
        let _ = o.flush();
        if once {
            return Ok(ExitCode::SUCCESS);
        }
        drop(o);
        std::thread::sleep(Duration::from_millis(100));
    }
}
