//! `oxbpf prog load OBJ PATH [type TYPE] [section SEC] [pinmaps DIR]` and
//! `oxbpf prog loadall OBJ DIR [type TYPE] [pinmaps DIR]`: load into the
//! pin directory, as `bpftool prog load` loads into the kernel and pins in
//! bpffs.
//!
//! `load` pins the first program (or the one of section SEC) at PATH and
//! its maps beside it — in PATH's directory under their names (libbpf's
//! pin names; a name already taken is skipped with a warning), or in
//! `pinmaps DIR` when given. `loadall` pins every program as DIR/NAME and
//! the maps only with `pinmaps`. Whatever is not pinned is gone when the
//! command exits, except maps that a pinned program uses.
//!
//! `map { idx N | name NAME } MAP` makes the object use an existing map
//! (bpftool's map reuse), and maps declared `LIBBPF_PIN_BY_NAME` are
//! reused from, or pinned at, `$OXBPF_FS/NAME` as libbpf does in bpffs.

use super::pin::{bpf_err, fs, resolve_map, runtime};
use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(out: &Output, mut args: Args, all: bool) -> CliResult<ExitCode> {
    let obj_path = args.next("an object file")?;
    let target = args.next(if all {
        "a directory"
    } else {
        "a path to pin at"
    })?;
    let mut opts = oxbpf::LoadOptions::default();
    let mut section = None;
    let mut pinmaps = None;
    let mut reuse: Vec<(MapRef, Vec<String>)> = Vec::new();
    while let Some(w) = args.next_opt() {
        match w.as_str() {
            "type" => opts.prog_type = Some(super::parse_prog_type(&args.next("a program type")?)?),
            "section" => section = Some(args.next("a section name")?),
            "pinmaps" => pinmaps = Some(args.next("a directory")?),
            // bpftool's `map { idx IDX | name NAME } MAP`: use that map.
            "map" => {
                let which = match args.next("'idx' or 'name'")?.as_str() {
                    "idx" => {
                        let i: usize = args
                            .next("a map index")?
                            .parse()
                            .map_err(|_| cli_err!("can't parse map index"))?;
                        MapRef::Idx(i)
                    }
                    "name" => MapRef::Name(args.next("a map name")?),
                    other => return Err(cli_err!("expected 'idx' or 'name', got: '{other}'")),
                };
                reuse.push((which, args_to_vec(&mut args)?));
            }
            other => return Err(cli_err!("unknown keyword '{other}'")),
        }
    }
    let rt = runtime()?;
    let fs = fs(&rt)?;
    if !reuse.is_empty() {
        let names = map_names(&obj_path)?;
        for (which, words) in reuse {
            let name = match which {
                MapRef::Name(n) => n,
                MapRef::Idx(i) => names
                    .get(i)
                    .cloned()
                    .ok_or_else(|| cli_err!("map idx '{i}' not used"))?,
            };
            if !names.contains(&name) {
                return Err(cli_err!("map '{name}' not used"));
            }
            let m = resolve_map(&rt, &mut Args::new(words))?;
            opts.reuse_maps.push((name, m));
        }
    }
    let obj = match fs.load_file(&rt, &obj_path, &opts) {
        Ok(o) => o,
        Err(e) => {
            if let oxbpf::Error::Verify { log, .. } = e.innermost() {
                if !out.json {
                    eprint!("{log}");
                    if !log.ends_with('\n') {
                        eprintln!();
                    }
                }
            }
            return Err(cli_err!("failed to load object file: {e}"));
        }
    };
    let progs: Vec<&oxbpf::Program> = match &section {
        Some(sec) => {
            let names = section_programs(&obj_path, sec)?;
            obj.programs()
                .iter()
                .filter(|p| names.iter().any(|n| n == p.func_name()))
                .collect()
        }
        None => obj.programs().iter().collect(),
    };
    if progs.is_empty() {
        return Err(cli_err!("{obj_path}: no program to load"));
    }
    let mut pinned: Vec<PathBuf> = Vec::new();
    let res = (|| -> CliResult<()> {
        // Programs first: an unusable PATH is the error to report.
        if all {
            let dir = fs.resolve(&target);
            for p in &progs {
                // The whole name, as bpftool pins: cut to 15 bytes, two
                // programs may collide (`balancer_ingress_v4`, `_v6`).
                let path = dir.join(p.func_name());
                let at = fs
                    .pin_program(p, &path)
                    .map_err(|e| bpf_err(&format!("can't pin program ({})", path.display()), &e))?;
                pinned.push(at);
            }
        } else {
            let at = fs
                .pin_program(progs[0], &target)
                .map_err(|e| bpf_err(&format!("can't pin the object ({target})"), &e))?;
            pinned.push(at);
        }
        let (map_dir, beside) = match (&pinmaps, all) {
            (Some(d), _) => (Some(fs.resolve(d)), false),
            (None, false) => (fs.resolve(&target).parent().map(Path::to_path_buf), true),
            (None, true) => (None, false),
        };
        if let Some(dir) = map_dir {
            for m in obj.maps() {
                // libbpf's pin names: dots become underscores
                // (`counter.rodata` is pinned as `counter_rodata`).
                let p = dir.join(m.name().replace('.', "_"));
                if beside && std::fs::symlink_metadata(&p).is_ok() {
                    // Loading one object twice into a directory (as
                    // bpftool users do) must work: the name is taken, the
                    // program keeps its map all the same.
                    eprintln!(
                        "Warning: map {} not pinned: {} exists (give 'pinmaps DIR' to choose)",
                        m.name(),
                        p.display()
                    );
                    continue;
                }
                let at = fs.pin_map(m, &p).map_err(|e| {
                    bpf_err(&format!("can't pin map {} ({})", m.name(), p.display()), &e)
                })?;
                pinned.push(at);
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        for p in pinned {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    if out.json {
        out.print_json(&serde_json::Value::Null);
    }
    Ok(ExitCode::SUCCESS)
}

/// Names of the programs in section `sec` of the object.
fn section_programs(path: &str, sec: &str) -> CliResult<Vec<String>> {
    let spec = oxbpf_object::ObjectSpec::open_with(
        path,
        &oxbpf_object::ParseOptions {
            core: oxbpf_object::CoreTarget::None,
            ..Default::default()
        },
    )
    .map_err(|e| cli_err!("{e}"))?;
    Ok(spec
        .programs
        .iter()
        .filter(|p| p.section == sec)
        .map(|p| p.name.clone())
        .collect())
}

/// Which map of the object a `map` keyword names.
enum MapRef {
    Idx(usize),
    Name(String),
}

/// The words of a `MAP` (`id ID`, `pinned PATH`, `name NAME`).
fn args_to_vec(args: &mut Args) -> CliResult<Vec<String>> {
    let how = args.next("MAP (id, pinned or name)")?;
    let what = args.next("a map id, path or name")?;
    Ok(vec![how, what])
}

/// The object's map names, in libbpf's order (what `map idx N` counts).
fn map_names(path: &str) -> CliResult<Vec<String>> {
    let spec = oxbpf_object::ObjectSpec::open_with(
        path,
        &oxbpf_object::ParseOptions {
            core: oxbpf_object::CoreTarget::None,
            ..Default::default()
        },
    )
    .map_err(|e| cli_err!("{e}"))?;
    Ok(spec.maps.iter().map(|m| m.name.clone()).collect())
}
