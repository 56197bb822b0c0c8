//! `oxbpf prog verify OBJ [section SEC] [program NAME] [type TYPE]
//! [log_level N]`: verify every selected program of an object without
//! running it, print the verifier log of rejected ones (and of all with
//! `log_level 2`); exit 0 when all are accepted, 1 otherwise.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use serde_json::json;
use std::process::ExitCode;

pub fn run(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let path = args.next("an object file")?;
    let mut section = None;
    let mut program = None;
    let mut prog_type = None;
    let mut log_level = 1;
    while let Some(kw) = args.next_opt() {
        match kw.as_str() {
            "section" => section = Some(args.next("a section name")?),
            "program" => program = Some(args.next("a program name")?),
            "type" => prog_type = Some(super::parse_prog_type(&args.next("a program type")?)?),
            "log_level" => {
                let v = args.next("a log level")?;
                log_level = v
                    .parse()
                    .ok()
                    .filter(|l| *l <= 2)
                    .ok_or_else(|| cli_err!("invalid log_level '{v}': expected 0, 1 or 2"))?;
            }
            other => return Err(cli_err!("unexpected argument '{other}'")),
        }
    }
    let spec = oxbpf_object::ObjectSpec::open(&path).map_err(|e| cli_err!("{e}"))?;
    let selected: Vec<&oxbpf_object::ProgramSpec> = spec
        .programs
        .iter()
        .filter(|p| section.as_ref().is_none_or(|s| &p.section == s))
        .filter(|p| program.as_ref().is_none_or(|n| &p.name == n))
        .collect();
    if selected.is_empty() {
        return Err(cli_err!("{path}: no program matches"));
    }
    let rt = oxbpf::Runtime::new();
    let mut all_ok = true;
    let mut reports = Vec::new();
    for p in selected {
        let opts = oxbpf::LoadOptions {
            log_level,
            programs: Some(vec![p.name.clone()]),
            prog_type,
            ..Default::default()
        };
        let t0 = std::time::Instant::now();
        let res = rt.verify_spec(&spec, &opts);
        let usec = t0.elapsed().as_micros() as u64;
        let ty = prog_type.unwrap_or(p.prog_type);
        let (verdict, processed, error, log) = match &res {
            Ok(v) => {
                let v = &v[0];
                ("accepted", v.insns_processed, None, v.log.clone())
            }
            Err(e) => match e.innermost() {
                oxbpf::Error::Verify { log, .. } => (
                    "rejected",
                    processed_of(log),
                    Some(e.to_string()),
                    log.clone(),
                ),
                _ => ("rejected", 0, Some(e.to_string()), String::new()),
            },
        };
        all_ok &= verdict == "accepted";
        if out.json {
            reports.push(json!({
                "section": p.section,
                "name": p.name,
                "type": ty.name(),
                "verdict": verdict,
                "insns_processed": processed,
                "time_usec": usec,
                "error": error,
                "log": log,
            }));
        } else {
            match &error {
                None => println!(
                    "{}/{}: accepted ({processed} insns processed, {usec} usec)",
                    p.section, p.name
                ),
                Some(e) => println!("{}/{}: rejected: {e}", p.section, p.name),
            }
            if error.is_some() || log_level >= 2 {
                print!("{log}");
                if !log.ends_with('\n') && !log.is_empty() {
                    println!();
                }
            }
        }
    }
    if out.json {
        out.print_json(&json!({ "programs": reports }));
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The `processed N insns` count of a verifier log, 0 if it has none.
fn processed_of(log: &str) -> u64 {
    log.lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("processed ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}
