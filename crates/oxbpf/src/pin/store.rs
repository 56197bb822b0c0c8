//! The stored form of a verified program: a text file of `key value`
//! lines (easy to inspect with `cat`), instructions as hex. Written once
//! when the program is loaded and never rewritten, because pins are hard
//! links to it.

use crate::error::{Error, Result};
use crate::load::MapResolver;
use crate::map::Map;
use crate::program::{ProgInner, Program};
use crate::runtime::Runtime;
use isa::RawInsn;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uapi::{AttachType, ProgType};

const MAGIC: &str = "oxbpf-prog 1";

/// Everything needed to run a verified program again without verifying.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredProg {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) prog_type: u32,
    pub(crate) attach_type: Option<u32>,
    pub(crate) license: String,
    pub(crate) loaded_at: SystemTime,
    pub(crate) insns_processed: u64,
    /// The maps the program uses, by id; `lddw` in `xlated` names them.
    pub(crate) map_ids: Vec<u32>,
    pub(crate) insns: Vec<RawInsn>,
    pub(crate) xlated: Vec<RawInsn>,
    pub(crate) lines: Vec<verifier::LineInfo>,
    pub(crate) funcs: Vec<verifier::FuncInfo>,
}

/// Escapes what would break a line or a tab-separated field.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => o.push_str("%25"),
            '\n' => o.push_str("%0A"),
            '\r' => o.push_str("%0D"),
            '\t' => o.push_str("%09"),
            c => o.push(c),
        }
    }
    o
}

fn unesc(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%09", "\t")
        .replace("%25", "%")
}

fn hex(insns: &[RawInsn]) -> String {
    let mut o = String::with_capacity(insns.len() * 16);
    for i in insns {
        for b in i.to_bytes() {
            let _ = write!(o, "{b:02x}");
        }
    }
    o
}

fn unhex(s: &str) -> Option<Vec<RawInsn>> {
    if !s.len().is_multiple_of(16) || !s.is_ascii() {
        return None;
    }
    s.as_bytes()
        .chunks(16)
        .map(|c| {
            let mut b = [0u8; 8];
            for (i, out) in b.iter_mut().enumerate() {
                let pair = std::str::from_utf8(&c[2 * i..2 * i + 2]).ok()?;
                *out = u8::from_str_radix(pair, 16).ok()?;
            }
            Some(RawInsn::from_bytes(b))
        })
        .collect()
}

impl StoredProg {
    pub(crate) fn from_program(p: &Program) -> StoredProg {
        StoredProg {
            id: p.id(),
            name: p.name().to_string(),
            prog_type: p.prog_type().id(),
            attach_type: p.expected_attach_type().map(|a| a.id()),
            license: p.license().to_string(),
            loaded_at: p.loaded_at(),
            insns_processed: p.insns_processed(),
            map_ids: p.maps().iter().map(|m| m.id()).collect(),
            insns: p.insns().to_vec(),
            xlated: p.xlated().to_vec(),
            lines: p.line_info().to_vec(),
            funcs: p.func_info().to_vec(),
        }
    }

    fn render(&self) -> String {
        let mut o = String::new();
        let at = self
            .loaded_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let _ = writeln!(o, "{MAGIC}");
        let _ = writeln!(o, "id {}", self.id);
        let _ = writeln!(o, "name {}", esc(&self.name));
        let _ = writeln!(o, "type {}", self.prog_type);
        if let Some(a) = self.attach_type {
            let _ = writeln!(o, "attach_type {a}");
        }
        let _ = writeln!(o, "license {}", esc(&self.license));
        let _ = writeln!(o, "loaded_at {}.{:09}", at.as_secs(), at.subsec_nanos());
        let _ = writeln!(o, "insns_processed {}", self.insns_processed);
        let ids: Vec<String> = self.map_ids.iter().map(u32::to_string).collect();
        let _ = writeln!(o, "map_ids {}", ids.join(","));
        let _ = writeln!(o, "insns {}", hex(&self.insns));
        let _ = writeln!(o, "xlated {}", hex(&self.xlated));
        for l in &self.lines {
            let _ = writeln!(
                o,
                "line {}\t{}\t{}\t{}\t{}",
                l.insn_off,
                l.line,
                l.col,
                esc(&l.file),
                esc(&l.text)
            );
        }
        for f in &self.funcs {
            let _ = writeln!(o, "func {}\t{}", f.insn_off, esc(&f.name));
        }
        o
    }

    /// Writes the file at `path` (which must not exist), atomically: it
    /// appears complete or not at all.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let io = |source| Error::Io {
            path: tmp.clone(),
            source,
        };
        std::fs::write(&tmp, self.render()).map_err(io)?;
        let r = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        r.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    pub(crate) fn read(path: &Path) -> Result<StoredProg> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| Error::Pin {
            path: path.to_path_buf(),
            reason: format!("not a stored oxbpf program: {reason}"),
            errno: libc::EINVAL,
        })
    }

    fn parse(text: &str) -> std::result::Result<StoredProg, String> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err("bad magic".into());
        }
        let mut kv: BTreeMap<&str, &str> = BTreeMap::new();
        let mut infos = Vec::new();
        let mut funcs = Vec::new();
        for l in lines {
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            match k {
                "line" => {
                    let f: Vec<&str> = v.split('\t').collect();
                    let [off, line, col, file, src] = f[..] else {
                        return Err(format!("bad line info '{v}'"));
                    };
                    infos.push(verifier::LineInfo {
                        insn_off: off.parse().map_err(|_| "bad line offset")?,
                        line: line.parse().map_err(|_| "bad line number")?,
                        col: col.parse().map_err(|_| "bad column")?,
                        file: unesc(file),
                        text: unesc(src),
                    });
                }
                "func" => {
                    let (off, name) = v.split_once('\t').ok_or("bad func info")?;
                    funcs.push(verifier::FuncInfo {
                        insn_off: off.parse().map_err(|_| "bad func offset")?,
                        name: unesc(name),
                    });
                }
                _ => {
                    kv.insert(k, v);
                }
            }
        }
        let get = |k: &str| kv.get(k).copied().ok_or_else(|| format!("no '{k}'"));
        let num = |k: &str| -> std::result::Result<u64, String> {
            get(k)?.parse().map_err(|_| format!("bad '{k}'"))
        };
        let (secs, nanos) = get("loaded_at")?.split_once('.').ok_or("bad loaded_at")?;
        let loaded_at = UNIX_EPOCH
            + Duration::new(
                secs.parse().map_err(|_| "bad loaded_at")?,
                nanos.parse().map_err(|_| "bad loaded_at")?,
            );
        let map_ids = match get("map_ids")? {
            "" => Vec::new(),
            s => s
                .split(',')
                .map(|x| x.parse().map_err(|_| "bad map_ids".to_string()))
                .collect::<std::result::Result<_, _>>()?,
        };
        Ok(StoredProg {
            id: num("id")? as u32,
            name: unesc(get("name")?),
            prog_type: num("type")? as u32,
            attach_type: kv.get("attach_type").and_then(|v| v.parse().ok()),
            license: unesc(get("license")?),
            loaded_at,
            insns_processed: num("insns_processed")?,
            map_ids,
            insns: unhex(get("insns")?).ok_or("bad insns")?,
            xlated: unhex(get("xlated")?).ok_or("bad xlated")?,
            lines: infos,
            funcs,
        })
    }

    /// The program again, in `rt`, with `maps` (opened from `map_ids`).
    pub(crate) fn restore(
        self,
        rt: &Runtime,
        maps: Vec<Map>,
        btf: Option<Arc<btf::Btf>>,
    ) -> Result<Program> {
        let prog_type = ProgType::from_id(self.prog_type).ok_or_else(|| Error::Unsupported {
            program: self.name.clone(),
            reason: format!("unknown program type {}", self.prog_type),
        })?;
        let by_id: BTreeMap<i32, Map> = maps.iter().map(|m| (m.id() as i32, m.clone())).collect();
        let helpers = rt.reg.helpers.read().map(|h| h.clone()).unwrap_or_default();
        let resolver = MapResolver { maps: &by_id };
        let prep = vm::PrepareOptions {
            helpers: &helpers,
            resolver: Some(&resolver),
            callx_helper_ids: false,
        };
        let exec = vm::Program::from_raw(&self.xlated, &prep).map_err(|source| Error::Prepare {
            program: self.name.clone(),
            source,
        })?;
        // SAFETY: these are the instructions the verifier accepted when the
        // program was loaded (with these very maps, reopened from the same
        // files), stored in the pin directory, which is trusted as bpffs is
        // (see the module docs of `pin`): the contract of
        // `assume_verified` holds as it did at load time.
        let exec = unsafe { exec.assume_verified() };
        let registry = Arc::downgrade(&rt.reg);
        Ok(rt.register_prog_with_id(self.id, |id| ProgInner {
            id,
            func_name: self.name.clone(),
            name: self.name,
            prog_type,
            attach_type: self.attach_type.and_then(AttachType::from_id),
            license: self.license,
            insns: self.insns,
            xlated: self.xlated,
            verifier_log: String::new(),
            insns_processed: self.insns_processed,
            maps,
            exec: Arc::new(exec),
            jit: Default::default(),
            line_info: self.lines,
            func_info: self.funcs,
            btf,
            loaded_at: self.loaded_at,
            registry,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = StoredProg {
            id: 7,
            name: "a\tb%c".into(),
            prog_type: 6,
            attach_type: Some(2),
            license: "GPL".into(),
            loaded_at: UNIX_EPOCH + Duration::new(1_700_000_000, 123),
            insns_processed: 9,
            map_ids: vec![3, 4],
            insns: vec![RawInsn::from_bytes([0xb7, 0, 0, 0, 1, 0, 0, 0])],
            xlated: vec![RawInsn::from_bytes([0x95, 0, 0, 0, 0, 0, 0, 0])],
            lines: vec![verifier::LineInfo {
                insn_off: 0,
                file: "x.c".into(),
                line: 3,
                col: 5,
                text: "return 1;\n".into(),
            }],
            funcs: vec![verifier::FuncInfo {
                insn_off: 0,
                name: "f".into(),
            }],
        };
        assert_eq!(StoredProg::parse(&s.render()).unwrap(), s);
        assert!(StoredProg::parse("oxbpf-prog 1\nid x\n").is_err());
        assert!(StoredProg::parse("garbage").is_err());
    }
}
