//! `oxbpf map …`: maps of the pin directory, as `bpftool map` handles the
//! kernel's. `MAP := id ID | pinned PATH | name NAME`.

// Output that a closed pipe (`| head`) ends quietly instead of panicking.
macro_rules! print {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! println {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

pub(crate) mod fmt;

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::cmd::prog::pin::{bpf_err, errno_text, fs, resolve_map, runtime};
use crate::output::Output;
use fmt::{btf_value, compact, hex, hex_json, parse_bytes, Jw, V};
use oxbpf::pin::ObjKind;
use std::process::ExitCode;

const USAGE: &str = "Usage: oxbpf map { show | list } [MAP]
       oxbpf map create PATH type TYPE key KEY_SIZE value VALUE_SIZE entries MAX_ENTRIES name NAME [flags FLAGS]
       oxbpf map dump MAP
       oxbpf map update MAP [key DATA] [value VALUE] [UPDATE_FLAGS]
       oxbpf map lookup MAP [key DATA]
       oxbpf map getnext MAP [key DATA]
       oxbpf map delete MAP key DATA
       oxbpf map pin MAP FILE
       oxbpf map freeze MAP
       oxbpf map { push | enqueue } MAP value VALUE
       oxbpf map { pop | dequeue | peek } MAP
MAP := id MAP_ID | pinned FILE | name MAP_NAME
DATA := { [hex] BYTES }
VALUE := { DATA | MAP | PROG }
UPDATE_FLAGS := { any | exist | noexist }";

pub fn run(out: &Output, words: Vec<String>) -> CliResult<ExitCode> {
    let mut args = Args::new(words);
    let verb = args.next_opt().unwrap_or_else(|| "show".into());
    match verb.as_str() {
        "show" | "list" => show(out, args),
        "create" => create(out, args),
        "dump" => dump(out, args),
        "lookup" => lookup(out, args),
        "update" => update(out, args),
        "delete" => delete(out, args),
        "getnext" => getnext(out, args),
        "pin" => pin(out, args),
        "freeze" => freeze(out, args),
        "push" | "enqueue" => push(out, args),
        "pop" | "dequeue" => pop(out, args, true),
        "peek" => pop(out, args, false),
        "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(cli_err!("unknown map command '{other}'\n{USAGE}")),
    }
}

fn done(out: &Output) -> CliResult<ExitCode> {
    if out.json {
        out.print_json(&serde_json::Value::Null);
    }
    Ok(ExitCode::SUCCESS)
}

fn is_percpu(m: &oxbpf::Map) -> bool {
    m.map_type().is_percpu()
}

/// The value bytes of each CPU of a per-CPU syscall value.
fn per_cpu(m: &oxbpf::Map, v: &[u8]) -> Vec<Vec<u8>> {
    let size = m.spec().value_size as usize;
    let step = size.next_multiple_of(8).max(1);
    v.chunks(step)
        .map(|c| c[..size.min(c.len())].to_vec())
        .collect()
}

/// The BTF-formatted key and value of an entry, if the map has BTF.
fn formatted(m: &oxbpf::Map, key: &[u8], value: &[u8], plain: bool) -> Option<V> {
    let btf = m.btf()?;
    let s = m.spec();
    if s.btf_value_type_id == 0 {
        return None;
    }
    let mut o = Vec::new();
    if s.btf_key_type_id != 0 {
        o.push((
            "key".to_string(),
            btf_value(btf, s.btf_key_type_id, key, plain),
        ));
    }
    if is_percpu(m) {
        let vals = per_cpu(m, value)
            .iter()
            .enumerate()
            .map(|(cpu, v)| {
                V::Obj(vec![
                    ("cpu".into(), V::Raw(cpu.to_string())),
                    (
                        "value".into(),
                        btf_value(btf, s.btf_value_type_id, v, plain),
                    ),
                ])
            })
            .collect();
        o.push(("values".into(), V::Arr(vals)));
    } else {
        o.push((
            "value".into(),
            btf_value(btf, s.btf_value_type_id, value, plain),
        ));
    }
    Some(V::Obj(o))
}

/// bpftool's `-j` entry: hex bytes, and `formatted` with BTF.
fn entry_json(m: &oxbpf::Map, key: &[u8], value: &[u8]) -> V {
    let mut o = vec![("key".to_string(), hex_json(key))];
    if is_percpu(m) {
        let vals = per_cpu(m, value)
            .iter()
            .enumerate()
            .map(|(cpu, v)| {
                V::Obj(vec![
                    ("cpu".into(), V::Raw(cpu.to_string())),
                    ("value".into(), hex_json(v)),
                ])
            })
            .collect();
        o.push(("values".into(), V::Arr(vals)));
    } else {
        o.push(("value".into(), hex_json(value)));
    }
    if let Some(f) = formatted(m, key, value, false) {
        o.push(("formatted".into(), f));
    }
    V::Obj(o)
}

/// bpftool's plain entry without BTF.
fn entry_text(m: &oxbpf::Map, key: &[u8], value: &[u8]) -> String {
    let ks = key.len();
    let vs = m.spec().value_size as usize;
    if is_percpu(m) {
        let mut s = format!("key:\n{}\n", hex(key));
        for (cpu, v) in per_cpu(m, value).iter().enumerate() {
            let brk = if vs > 16 { '\n' } else { ' ' };
            s += &format!("value (CPU {cpu:02}):{brk}{}\n", hex(v));
        }
        s
    } else {
        let break_names = ks > 16 || vs > 16;
        let single = ks + vs <= 24 && !break_names;
        let b = if break_names { '\n' } else { ' ' };
        format!(
            "key:{b}{}{}value:{b}{}\n",
            hex(key),
            if single { "  " } else { "\n" },
            hex(value)
        )
    }
}

/// A value, or the errno of its failed lookup.
type Lookup = Result<Vec<u8>, i32>;

/// bpftool's line for a key whose lookup failed: `<no entry>` for
/// `ENOENT`, else the error's text.
fn entry_error_text(key: &[u8], errno: i32) -> String {
    let msg = if errno == 2 {
        "<no entry>".to_string()
    } else {
        errno_text(errno)
    };
    let break_names = key.len() > 16 || msg.len() > 16;
    let single = key.len() + msg.len() <= 24 && !break_names;
    let b = if break_names { '\n' } else { ' ' };
    format!(
        "key:{b}{}{}value:{b}{msg}\n",
        hex(key),
        if single { "  " } else { "\n" }
    )
}

pub(crate) fn print_v(out: &Output, v: &V) {
    if out.pretty {
        let mut w = Jw::new(true);
        w.value(v);
        println!("{}", w.out);
    } else {
        println!("{}", compact(v));
    }
}

fn show(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let fs = fs(&rt)?;
    let by_name = args.peek() == Some("name");
    // bpftool prints one object (not an array) when MAP names one.
    let mut single = args.peek().is_some() && !by_name;
    let maps = if by_name {
        // bpftool shows every map of that name.
        args.next_opt();
        let name = args.next("a map name")?;
        args.finish()?;
        let mut v = Vec::new();
        for id in fs.ids(ObjKind::Map).map_err(|e| cli_err!("{e}"))? {
            if let Ok(m) = fs.map_by_id(&rt, id) {
                if m.name() == name {
                    v.push(m);
                }
            }
        }
        if v.is_empty() {
            return Err(cli_err!("can't find map named '{name}'"));
        }
        single = v.len() == 1;
        v
    } else if single {
        let m = resolve_map(&rt, &mut args)?;
        args.finish()?;
        vec![m]
    } else {
        let mut v = Vec::new();
        for id in fs.ids(ObjKind::Map).map_err(|e| cli_err!("{e}"))? {
            match fs.map_by_id(&rt, id) {
                Ok(m) => v.push(m),
                Err(e) => return Err(cli_err!("can't get map info (id {id}): {e}")),
            }
        }
        v
    };
    let mut all = Vec::new();
    for m in &maps {
        let s = m.spec();
        let memlock = m.storage().region().len();
        let btf_id = fs.btf_id(ObjKind::Map, m.id());
        let pins = fs.pins_of(ObjKind::Map, m.id());
        if out.json {
            let mut o = serde_json::json!({
                "id": m.id(),
                "type": m.map_type().name(),
                "name": m.name(),
                "flags": s.flags,
                "bytes_key": s.key_size,
                "bytes_value": s.value_size,
                "max_entries": s.max_entries,
                "bytes_memlock": memlock,
                "frozen": u32::from(m.is_frozen()),
            });
            if let Some(b) = btf_id {
                o["btf_id"] = serde_json::json!(b);
            }
            if !pins.is_empty() {
                let p: Vec<String> = pins.iter().map(|p| p.display().to_string()).collect();
                o["pinned"] = serde_json::json!(p);
            }
            all.push(o);
        } else {
            println!(
                "{}: {}  name {}  flags 0x{:x}",
                m.id(),
                m.map_type().name(),
                m.name(),
                s.flags
            );
            print!(
                "\tkey {}B  value {}B  max_entries {}  memlock {}B",
                s.key_size, s.value_size, s.max_entries, memlock
            );
            // bpftool 7.1's layout: pins, then btf_id and frozen on one line.
            for p in pins {
                print!("\n\tpinned {}", p.display());
            }
            if btf_id.is_some() || m.is_frozen() {
                print!("\n\t");
            }
            if let Some(b) = btf_id {
                print!("btf_id {b}");
            }
            if m.is_frozen() {
                print!("{}frozen", if btf_id.is_some() { "  " } else { "" });
            }
            println!();
        }
    }
    if out.json {
        const ORDER: &[&str] = &[
            "id",
            "type",
            "name",
            "flags",
            "bytes_key",
            "bytes_value",
            "max_entries",
            "bytes_memlock",
            "frozen",
            "btf_id",
            "pinned",
        ];
        let v = if single && all.len() == 1 {
            all.remove(0)
        } else {
            serde_json::Value::Array(all)
        };
        print_v(out, &fmt::from_json(&v, ORDER));
    }
    Ok(ExitCode::SUCCESS)
}

fn create(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let path = args.next("a path to pin at")?;
    let (mut ty, mut key, mut value, mut entries, mut name, mut flags) =
        (None, None, None, None, None, 0u32);
    let num = |s: String, what: &str| -> CliResult<u32> {
        let r = match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16),
            None => s.parse(),
        };
        r.map_err(|_| cli_err!("can't parse {what}"))
    };
    while let Some(w) = args.next_opt() {
        match w.as_str() {
            "type" => {
                let t = args.next("a map type")?;
                ty = Some(
                    oxbpf::MapType::from_name(&t)
                        .ok_or_else(|| cli_err!("invalid map type '{t}'"))?,
                );
            }
            "key" => key = Some(num(args.next("a key size")?, "key size")?),
            "value" => value = Some(num(args.next("a value size")?, "value size")?),
            "entries" => entries = Some(num(args.next("max entries")?, "max entries")?),
            "name" => name = Some(args.next("a name")?),
            "flags" => flags = num(args.next("flags")?, "flags")?,
            other => return Err(cli_err!("unknown arg {other}")),
        }
    }
    let ty = ty.ok_or_else(|| cli_err!("map type not specified"))?;
    let name = name.ok_or_else(|| cli_err!("map name not specified"))?;
    let spec = oxbpf::MapSpec::new(
        ty,
        key.unwrap_or(0),
        value.unwrap_or(0),
        entries.unwrap_or(0),
    )
    .with_flags(flags)
    .with_name(&name);
    let rt = runtime()?;
    let m = rt
        .create_map(spec)
        .map_err(|e| bpf_err("map create failed", &e))?;
    fs(&rt)?
        .pin_map(&m, &path)
        .map_err(|e| bpf_err(&format!("failed to pin map ({path})"), &e))?;
    done(out)
}

fn dump(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    args.finish()?;
    // As bpftool: iteration ends at the first get_next_key failure (a
    // queue or stack has no keys and dumps as empty).
    let (keys, failed) = match m.keys() {
        Ok(k) => (k, false),
        Err(_) => (Vec::new(), true),
    };
    // Each key with its value, or the errno of its failed lookup.
    let mut entries: Vec<(Vec<u8>, Lookup)> = Vec::new();
    for k in keys {
        match m.lookup(&k) {
            Ok(v) => entries.push((k, Ok(v))),
            // No entry in a program array or map of maps: not shown.
            Err(e) if e.errno() == Some(2) && is_fd_map(&m) => {}
            Err(e) => entries.push((k, Err(e.errno().unwrap_or(22)))),
        }
    }
    let found = entries.iter().filter(|(_, v)| v.is_ok()).count();
    if out.json {
        let v = V::Arr(
            entries
                .iter()
                .map(|(k, v)| match v {
                    Ok(v) => entry_json(&m, k, v),
                    Err(errno) => V::Obj(vec![
                        ("key".into(), hex_json(k)),
                        (
                            "value".into(),
                            V::Obj(vec![("error".into(), V::Str(errno_text(*errno)))]),
                        ),
                    ]),
                })
                .collect(),
        );
        print_v(out, &v);
    } else if m.btf().is_some() && m.spec().btf_value_type_id != 0 {
        let v = V::Arr(
            entries
                .iter()
                .filter_map(|(k, v)| formatted(&m, k, v.as_ref().ok()?, true))
                .collect(),
        );
        let mut w = Jw::new(true);
        w.value(&v);
        println!("{}", w.out);
    } else {
        for (k, v) in &entries {
            match v {
                Ok(v) => print!("{}", entry_text(&m, k, v)),
                Err(errno) => print!("{}", entry_error_text(k, *errno)),
            }
        }
        println!("Found {found} element{}", if found == 1 { "" } else { "s" });
    }
    // bpftool's status when iteration failed (a queue, a stack).
    if failed {
        return Ok(ExitCode::from(255));
    }
    Ok(ExitCode::SUCCESS)
}

fn key_arg(args: &mut Args, m: &oxbpf::Map) -> CliResult<Vec<u8>> {
    match args.next_opt().as_deref() {
        Some("key") => parse_bytes(args, "key", m.spec().key_size as usize),
        Some(other) => Err(cli_err!("did not find key, got '{other}'")),
        None => Err(cli_err!("did not find key")),
    }
}

fn lookup(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    let key = key_arg(&mut args, &m)?;
    args.finish()?;
    match m.lookup(&key) {
        Ok(v) => {
            if out.json {
                print_v(out, &entry_json(&m, &key, &v));
            } else if let Some(f) = formatted(&m, &key, &v, true) {
                let mut w = Jw::new(true);
                w.value(&f);
                println!("{}", w.out);
            } else {
                print!("{}", entry_text(&m, &key, &v));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.errno() == Some(2) => {
            if out.json {
                out.print_json(&serde_json::Value::Null);
            } else {
                println!("key:\n{}\n\nNot found", hex(&key));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(bpf_err("lookup failed", &e)),
    }
}

fn update(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    let key = key_arg(&mut args, &m)?;
    match args.next_opt().as_deref() {
        Some("value") => {}
        _ => return Err(cli_err!("did not find value")),
    }
    let vsize = m.spec().value_size as usize;
    let one = match args.peek() {
        Some("id") if is_fd_map(&m) => {
            args.next_opt();
            let id: u32 = args
                .next("an id")?
                .parse()
                .map_err(|_| cli_err!("can't parse id"))?;
            id.to_le_bytes().to_vec()
        }
        Some("pinned") if is_fd_map(&m) => {
            args.next_opt();
            let path = args.next("a path")?;
            let fs = fs(&rt)?;
            let (_, id) = fs
                .identify(&path)
                .map_err(|e| bpf_err(&format!("bpf obj get ({path})"), &e))?;
            id.to_le_bytes().to_vec()
        }
        _ => parse_bytes(&mut args, "value", vsize)?,
    };
    let flags = match args.next_opt().as_deref() {
        None | Some("any") => 0,
        Some("noexist") => 1,
        Some("exist") => 2,
        Some(other) => return Err(cli_err!("unknown update flag '{other}'")),
    };
    args.finish()?;
    // bpftool copies one value to every CPU of a per-CPU map.
    let value = if is_percpu(&m) {
        let step = vsize.next_multiple_of(8);
        let mut v = vec![0u8; m.value_size()];
        for c in v.chunks_mut(step) {
            c[..vsize].copy_from_slice(&one);
        }
        v
    } else {
        one
    };
    m.update(&key, &value, flags)
        .map_err(|e| bpf_err("update failed", &e))?;
    done(out)
}

fn is_fd_map(m: &oxbpf::Map) -> bool {
    use oxbpf::MapType as T;
    matches!(m.map_type(), T::ProgArray | T::ArrayOfMaps | T::HashOfMaps)
}

fn delete(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    let key = key_arg(&mut args, &m)?;
    args.finish()?;
    m.delete(&key).map_err(|e| bpf_err("delete failed", &e))?;
    done(out)
}

fn getnext(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    let key = if args.peek().is_some() {
        Some(key_arg(&mut args, &m)?)
    } else {
        None
    };
    args.finish()?;
    let next = m
        .next_key(key.as_deref())
        .map_err(|e| bpf_err("can't get next key", &e))?;
    if out.json {
        let k = key.as_deref().map_or(V::Raw("null".into()), hex_json);
        print_v(
            out,
            &V::Obj(vec![
                ("key".into(), k),
                ("next_key".into(), hex_json(&next)),
            ]),
        );
    } else {
        match &key {
            Some(k) => println!("key:\n{}", hex(k)),
            None => println!("key: None"),
        }
        println!("next key:\n{}", hex(&next));
    }
    Ok(ExitCode::SUCCESS)
}

fn pin(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    let path = args.next("a path to pin at")?;
    args.finish()?;
    fs(&rt)?
        .pin_map(&m, &path)
        .map_err(|e| bpf_err(&format!("can't pin the object ({path})"), &e))?;
    done(out)
}

fn freeze(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    args.finish()?;
    m.freeze()
        .map_err(|e| bpf_err("failed to freeze map", &e))?;
    done(out)
}

fn push(out: &Output, mut args: Args) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    match args.next_opt().as_deref() {
        Some("value") => {}
        _ => return Err(cli_err!("did not find value")),
    }
    let value = parse_bytes(&mut args, "value", m.spec().value_size as usize)?;
    args.finish()?;
    m.push(&value, 0)
        .map_err(|e| bpf_err("update failed", &e))?;
    done(out)
}

/// `pop`/`dequeue` (`take`) and `peek` of a queue or stack.
fn pop(out: &Output, mut args: Args, take: bool) -> CliResult<ExitCode> {
    let rt = runtime()?;
    let m = resolve_map(&rt, &mut args)?;
    args.finish()?;
    let r = if take { m.pop() } else { m.peek() };
    match r {
        Ok(v) => {
            if out.json {
                print_v(
                    out,
                    &V::Obj(vec![
                        ("key".into(), V::Arr(Vec::new())),
                        ("value".into(), hex_json(&v)),
                    ]),
                );
            } else {
                println!("value: {}", hex(&v));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.errno() == Some(2) => Err(cli_err!("empty map")),
        Err(e) => Err(bpf_err(if take { "pop failed" } else { "peek failed" }, &e)),
    }
}
