//! Errors of the runtime: each names the object, program or map it is about
//! and keeps the lower layer's error as its source.

use std::path::PathBuf;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object file could not be read or parsed (the message names the
    /// file, section and offset).
    #[error(transparent)]
    Object(#[from] object::ObjectError),

    /// A map could not be created or initialised.
    #[error("map '{map}': {source}")]
    Map {
        map: String,
        #[source]
        source: maps::MapError,
    },

    /// A map operation from the host failed (`ENOENT`, `E2BIG`, …).
    #[error("{op} on map '{map}' (id {id}): {source}")]
    MapOp {
        op: &'static str,
        map: String,
        id: u32,
        #[source]
        source: maps::MapError,
    },

    /// The verifier refused the program. `log` holds the verifier log at the
    /// requested level (the path to the error at level 1).
    #[error("program '{program}': verifier rejected it at insn {}{}: {message}",
        pc.map_or("?".to_string(), |p| p.to_string()),
        source_line.as_ref().map_or(String::new(), |l| format!(" ({l})")))]
    Verify {
        program: String,
        message: String,
        pc: Option<usize>,
        /// `file:line` of the failing instruction, from BTF line info.
        source_line: Option<String>,
        errno: i32,
        log: String,
    },

    /// The program passed the verifier but could not be prepared to run (a
    /// helper this runtime lacks, an unresolvable `lddw`).
    #[error("program '{program}': {source}")]
    Prepare {
        program: String,
        #[source]
        source: vm::PrepareError,
    },

    /// The program has a type the runtime cannot load (an unknown section
    /// name, a type with no context here).
    #[error("program '{program}': {reason}")]
    Unsupported { program: String, reason: String },

    /// A test-run was refused (the kernel's `EINVAL`/`ENOSPC`… cases) or
    /// the program faulted.
    #[error("program '{program}': {reason}")]
    Run { program: String, reason: String },

    /// `BPF_PROG_TEST_RUN` refused the request (the kernel's `EINVAL`,
    /// `E2BIG`, … cases) or the engine stopped.
    #[error("program '{program}': {source}")]
    TestRun {
        program: String,
        #[source]
        source: vm::test_run::TestRunError,
    },

    /// No program or map of that name in the object.
    #[error("no {what} named '{name}'")]
    NotFound { what: &'static str, name: String },

    /// An error while loading the object file `path`.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },

    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A pin file system operation was refused (`EEXIST` for a pin path
    /// in use, `ENOENT` for a missing object, `EINVAL` for a file that is
    /// not one of ours); `errno` is what `BPF_OBJ_PIN`/`BPF_OBJ_GET` give.
    #[error("{}: {reason}", path.display())]
    Pin {
        path: PathBuf,
        reason: String,
        errno: i32,
    },
}

impl Error {
    /// The error itself, without the file it happened in.
    pub fn innermost(&self) -> &Error {
        match self {
            Error::InFile { source, .. } => source.innermost(),
            e => e,
        }
    }

    /// The errno the kernel's `bpf(2)` would have returned, where there is
    /// one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Map { source, .. } | Error::MapOp { source, .. } => Some(source.errno()),
            Error::Verify { errno, .. } => Some(*errno),
            Error::Pin { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            Error::InFile { source, .. } => source.errno(),
            Error::TestRun { source, .. } => Some(source.errno()),
            _ => None,
        }
    }
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
