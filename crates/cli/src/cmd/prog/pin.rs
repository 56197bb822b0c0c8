//! The pin directory from the command line: the runtime every command
//! that touches pinned objects uses, the `id`/`pinned`/`name` forms of
//! `PROG` and `MAP`, errors in bpftool's words, and `prog pin`.

use crate::args::{Args, CliError, CliResult};
use crate::cli_err;
use crate::output::Output;
use oxbpf::pin::{ObjKind, PinFs};
use std::process::ExitCode;

/// bpftool's text for an errno: "Argument list too long" for E2BIG.
pub(crate) fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or("")
        .to_string()
}

/// An error as bpftool words it: `what: <strerror>` when there is an
/// errno, else the error's own text.
pub(crate) fn bpf_err(what: &str, e: &oxbpf::Error) -> CliError {
    // A pin outside the pin directory: say where pins go.
    if let oxbpf::Error::Pin { reason, errno, .. } = e {
        if *errno == EPERM {
            return cli_err!("{what}: {} ({reason})", errno_text(*errno));
        }
    }
    match e.errno() {
        Some(n) if n > 0 && n < 4096 => cli_err!("{what}: {}", errno_text(n)),
        _ => cli_err!("{what}: {e}"),
    }
}

/// `EPERM`: what a pin outside the pin directory gets.
const EPERM: i32 = 1;

/// The runtime of commands that use the pin directory: ids shared with
/// other processes, maps in `OXBPF_FS`, trace lines to its trace pipe.
pub(crate) fn runtime() -> CliResult<oxbpf::Runtime> {
    let fs = PinFs::from_env().map_err(|e| cli_err!("can't open the pin directory: {e}"))?;
    Ok(fs.into_runtime(oxbpf::RuntimeOptions::default()))
}

/// The pin directory of a runtime made by [`runtime`].
pub(crate) fn fs(rt: &oxbpf::Runtime) -> CliResult<&PinFs> {
    rt.pin_fs()
        .ok_or_else(|| cli_err!("this runtime has no pin directory"))
}

/// `PROG := id ID | pinned PATH | name NAME` (the `file` form is
/// [`super::resolve`]'s).
pub(crate) fn resolve_prog(
    rt: &oxbpf::Runtime,
    how: &str,
    args: &mut Args,
) -> CliResult<oxbpf::Program> {
    // A runtime made without the pin directory (`Runtime::new()`) still
    // gets pinned programs, restored into it from `$OXBPF_FS`; its runs
    // then print trace lines to stderr rather than the trace pipe.
    let own;
    let fs = match rt.pin_fs() {
        Some(fs) => fs,
        None => {
            own = PinFs::from_env().map_err(|e| cli_err!("can't open the pin directory: {e}"))?;
            &own
        }
    };
    match how {
        "id" => {
            let id = parse_id(&args.next("a program id")?)?;
            fs.gc().map_err(|e| cli_err!("{e}"))?;
            fs.program_by_id(rt, id)
                .map_err(|e| bpf_err(&format!("get by id ({id})"), &e))
        }
        "pinned" => {
            let path = args.next("a pinned path")?;
            fs.open_program(rt, &path)
                .map_err(|e| bpf_err(&format!("bpf obj get ({path})"), &e))
        }
        "name" => {
            let name = args.next("a program name")?;
            let mut found = Vec::new();
            for id in fs.ids(ObjKind::Prog).map_err(|e| cli_err!("{e}"))? {
                if fs.program_info(id).is_ok_and(|i| i.name == name) {
                    found.push(id);
                }
            }
            match found.as_slice() {
                [id] => fs
                    .program_by_id(rt, *id)
                    .map_err(|e| bpf_err(&format!("get by id ({id})"), &e)),
                [] => Err(cli_err!("can't find program named '{name}'")),
                _ => Err(cli_err!(
                    "several programs match name '{name}'; use 'id ID' instead"
                )),
            }
        }
        other => Err(cli_err!(
            "expected 'id', 'pinned', 'name' or 'file', got: '{other}'"
        )),
    }
}

/// `MAP := id ID | pinned PATH | name NAME`.
pub(crate) fn resolve_map(rt: &oxbpf::Runtime, args: &mut Args) -> CliResult<oxbpf::Map> {
    let fs = fs(rt)?;
    match args.next("MAP (id, pinned or name)")?.as_str() {
        "id" => {
            let id = parse_id(&args.next("a map id")?)?;
            fs.gc().map_err(|e| cli_err!("{e}"))?;
            fs.map_by_id(rt, id)
                .map_err(|e| bpf_err(&format!("get map by id ({id})"), &e))
        }
        "pinned" => {
            let path = args.next("a pinned path")?;
            fs.open_map(rt, &path)
                .map_err(|e| bpf_err(&format!("bpf obj get ({path})"), &e))
        }
        "name" => {
            let name = args.next("a map name")?;
            let mut found = Vec::new();
            for id in fs.ids(ObjKind::Map).map_err(|e| cli_err!("{e}"))? {
                if let Ok(m) = fs.map_by_id(rt, id) {
                    if m.name() == name {
                        found.push(m);
                    }
                }
            }
            match found.len() {
                1 => Ok(found.remove(0)),
                0 => Err(cli_err!("can't find map named '{name}'")),
                _ => Err(cli_err!(
                    "several maps match name '{name}'; use 'id ID' instead"
                )),
            }
        }
        other => Err(cli_err!(
            "expected 'id', 'pinned' or 'name', got: '{other}'"
        )),
    }
}

fn parse_id(s: &str) -> CliResult<u32> {
    s.parse().map_err(|_| cli_err!("can't parse {s} as ID"))
}

/// `prog pin PROG PATH`.
pub fn run(_out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let prog = super::resolve(&rt, &mut args)?;
    let path = args.next("a path to pin at")?;
    args.finish()?;
    fs(&rt)?
        .pin_program(&prog, &path)
        .map_err(|e| bpf_err(&format!("can't pin the object ({path})"), &e))?;
    Ok(ExitCode::SUCCESS)
}
