//! (to be written)
use std::process::ExitCode;

pub fn run(_args: Vec<String>) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::from(1)
}
