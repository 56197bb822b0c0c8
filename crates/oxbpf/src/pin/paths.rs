//! Pin paths: which paths may be pins, and which paths pin an object.

use super::{io, pin_err, ObjKind, PinFs, ENV_VAR};
use crate::error::Result;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// `path` with its longest existing ancestor made canonical (symlinks
/// resolved) and the rest appended as given.
fn canonical_prefix(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(n), Some(p)) => {
                rest.push(n.to_os_string());
                existing = p;
            }
            _ => break,
        }
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    for n in rest.iter().rev() {
        out.push(n);
    }
    out
}

/// `path` with `.` and `..` resolved by name alone (no symlinks).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

impl PinFs {
    /// Every path under the root (outside `.objects`) that pins the object.
    pub fn pins_of(&self, kind: ObjKind, id: u32) -> Vec<PathBuf> {
        let Ok(md) = std::fs::metadata(self.object_path(kind, id)) else {
            return Vec::new();
        };
        if md.nlink() < 2 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                let Ok(m) = std::fs::symlink_metadata(&p) else {
                    continue;
                };
                if m.is_dir() {
                    if p != self.objects() {
                        stack.push(p);
                    }
                } else if m.ino() == md.ino() && m.dev() == md.dev() {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    /// Checks that `path` may become a pin: under the root, outside
    /// `.objects`, not existing; creates its parent directories.
    pub(super) fn pin_target(&self, path: &Path) -> Result<PathBuf> {
        let path = self.resolve(path);
        let abs = if path.is_absolute() {
            path
        } else {
            std::env::current_dir().map_err(io(&path))?.join(path)
        };
        let parent = abs
            .parent()
            .ok_or_else(|| pin_err(&abs, libc::EINVAL, "no parent directory"))?;
        let outside = || {
            pin_err(
                &abs,
                libc::EPERM,
                format!(
                    "pins live under {} ({ENV_VAR}); /sys/fs/bpf/... names a path there",
                    self.root.display()
                ),
            )
        };
        let inside = |p: &Path| p.starts_with(&self.root) && !p.starts_with(self.objects());
        // Judge the path before creating directories for it (lexically:
        // `..` steps back), then again once it exists (symlinks).
        if !inside(&lexical(&canonical_prefix(parent))) {
            return Err(outside());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io(parent))?;
        let parent = parent.canonicalize().map_err(io(parent))?;
        if !inside(&parent) {
            return Err(outside());
        }
        let name = abs
            .file_name()
            .ok_or_else(|| pin_err(&abs, libc::EINVAL, "no file name"))?;
        let target = parent.join(name);
        if std::fs::symlink_metadata(&target).is_ok() {
            return Err(pin_err(&target, libc::EEXIST, "File exists"));
        }
        Ok(target)
    }
}
