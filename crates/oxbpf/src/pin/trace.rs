//! `bpf_trace_printk` across processes: programs of every process append
//! their lines (already in `trace_pipe`'s format, see `vm::helpers::trace`)
//! to one file of the pin directory, and `oxbpf prog tracelog` reads them
//! as `bpftool prog tracelog` reads `trace_pipe`: what nobody read yet,
//! then new lines as they come. Reading consumes, as with `trace_pipe`: the
//! position of the last line read is kept next to the file, so two readers
//! share the lines rather than each seeing all of them. A reader that has
//! read everything empties the file, so it does not grow without bound.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A [`vm::TraceSink`] appending each line to a file. One `write(2)` per
/// line on an `O_APPEND` descriptor, so lines of concurrent processes never
/// interleave.
#[derive(Debug)]
pub struct FileTrace {
    path: PathBuf,
    /// Opened on the first line, kept for the next ones.
    file: std::sync::Mutex<Option<File>>,
}

impl FileTrace {
    pub fn new(path: impl Into<PathBuf>) -> FileTrace {
        FileTrace {
            path: path.into(),
            file: std::sync::Mutex::new(None),
        }
    }

    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&self.path)?,
            );
        }
        match f.as_mut() {
            Some(file) => {
                // Shared against the reader's truncation (see
                // `TraceReader::read_new`); the write itself is atomic.
                super::flock(file, libc::LOCK_SH)?;
                let r = file.write_all(buf);
                super::flock(file, libc::LOCK_UN)?;
                r
            }
            None => Ok(()),
        }
    }
}

impl vm::TraceSink for FileTrace {
    fn line(&self, line: &str) {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let written = self.append(buf.as_bytes());
        if written.is_err() {
            // The kernel drops lines when trace_pipe's buffer is full;
            // we fall back to standard error rather than lose them.
            eprint!("{buf}");
        }
    }
}

/// Reads the trace file from the first unread line.
#[derive(Debug)]
pub struct TraceReader {
    path: PathBuf,
    pos_path: PathBuf,
}

impl TraceReader {
    pub fn new(path: impl Into<PathBuf>) -> TraceReader {
        let path: PathBuf = path.into();
        let mut pos = path.as_os_str().to_owned();
        pos.push(".pos");
        TraceReader {
            path,
            pos_path: PathBuf::from(pos),
        }
    }

    fn lock_pos(&self) -> std::io::Result<File> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.pos_path)?;
        super::flock(&f, libc::LOCK_EX)?;
        Ok(f)
    }

    /// The complete lines appended since the last read (by any reader);
    /// empty when there are none.
    pub fn read_new(&self) -> std::io::Result<Vec<String>> {
        let mut posf = self.lock_pos()?;
        let mut s = String::new();
        posf.read_to_string(&mut s)?;
        let pos: u64 = s.trim().parse().unwrap_or(0);
        let mut f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        let pos = if pos > len { 0 } else { pos };
        f.seek(SeekFrom::Start(pos))?;
        let mut data = Vec::new();
        (&mut f).take(len - pos).read_to_end(&mut data)?;
        let Some(end) = data.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8_lossy(&data[..end]);
        let lines = text.lines().map(str::to_string).collect();
        let mut new_pos = pos + end as u64 + 1;
        // Everything read: empty the file so that it does not grow forever
        // (trace_pipe is a ring; ours is emptied by its reader). Writers
        // hold a shared lock per line, so none is half way through.
        if super::flock(&f, libc::LOCK_EX | libc::LOCK_NB)? {
            if f.metadata()?.len() == new_pos {
                OpenOptions::new()
                    .write(true)
                    .open(&self.path)?
                    .set_len(0)?;
                new_pos = 0;
            }
            super::flock(&f, libc::LOCK_UN)?;
        }
        posf.rewind()?;
        posf.set_len(0)?;
        write!(posf, "{new_pos}")?;
        Ok(lines)
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm::TraceSink;

    #[test]
    fn lines_are_consumed_and_the_file_emptied() {
        let dir = std::env::temp_dir().join(format!("oxbpf-trace-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("pipe");
        let _ = std::fs::remove_file(&path);
        let w = FileTrace::new(&path);
        let r = TraceReader::new(&path);
        assert!(r.read_new().unwrap().is_empty());
        w.line("one");
        w.line("two");
        assert_eq!(r.read_new().unwrap(), vec!["one", "two"]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "emptied");
        assert!(r.read_new().unwrap().is_empty());
        // The writer's descriptor is O_APPEND: it goes on at the new end.
        w.line("three");
        assert_eq!(TraceReader::new(&path).read_new().unwrap(), vec!["three"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
