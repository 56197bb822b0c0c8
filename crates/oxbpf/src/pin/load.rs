//! Loading an object into the pin directory the way libbpf loads one
//! with bpffs: maps declared `__uint(pinning, LIBBPF_PIN_BY_NAME)` are
//! reused from `<root>/<name>` when a compatible map is pinned there, and
//! pinned there otherwise; the object's BTF is recorded for its maps and
//! programs.

use super::{ObjKind, PinFs};
use crate::error::{Error, Result};
use crate::load::{LoadOptions, Object};
use crate::runtime::Runtime;
use std::path::Path;

impl PinFs {
    /// Loads the object file at `path` into `rt` (a runtime of this pin
    /// directory), with libbpf's pin-by-name maps and the object's BTF.
    /// `opts.reuse_maps` may name more maps to reuse.
    pub fn load_file(
        &self,
        rt: &Runtime,
        path: impl AsRef<Path>,
        opts: &LoadOptions,
    ) -> Result<Object> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = object::object_name(&path.to_string_lossy());
        self.load_bytes(rt, &bytes, &name, opts)
    }

    /// [`PinFs::load_file`] of an object's bytes; `name` is the object
    /// name (libbpf's: the file's base name up to its first dot).
    pub fn load_bytes(
        &self,
        rt: &Runtime,
        bytes: &[u8],
        name: &str,
        opts: &LoadOptions,
    ) -> Result<Object> {
        // Which maps are pinned by name (no CO-RE needed to know).
        let spec = object::ObjectSpec::parse_with(
            bytes,
            name,
            &object::ParseOptions {
                core: object::CoreTarget::None,
                ..Default::default()
            },
        )?;
        let by_name: Vec<&str> = spec
            .maps
            .iter()
            .filter(|m| m.pinning == object::Pinning::ByName)
            .map(|m| m.name.as_str())
            .collect();
        let mut opts = opts.clone();
        for n in &by_name {
            let pin = self.root().join(n);
            if pin.exists() && !opts.reuse_maps.iter().any(|(r, _)| r == n) {
                opts.reuse_maps
                    .push((n.to_string(), self.open_map(rt, &pin)?));
            }
        }
        let obj = rt.load_bytes(bytes, name, &opts)?;
        for m in obj.maps() {
            let reused = opts.reuse_maps.iter().any(|(_, r)| r.id() == m.id());
            if reused {
                continue;
            }
            // The object's own map of that name (`m.name()` is the kernel's
            // 15-byte cut; the spec has the full name).
            let kernel_name = |n: &str| n.as_bytes()[..n.len().min(15)] == *m.name().as_bytes();
            if let Some(full) = by_name.iter().find(|n| kernel_name(n)) {
                self.pin_map(m, self.root().join(full))?;
            }
        }
        let fresh: Vec<crate::Map> = obj
            .maps()
            .iter()
            .filter(|m| self.btf_id(ObjKind::Map, m.id()).is_none())
            .cloned()
            .collect();
        if let Some(raw) = super::info::elf_btf_section(bytes) {
            self.record_btf(raw, &fresh, obj.programs())?;
        }
        Ok(obj)
    }
}
