//! What verification produces: an accepted program, or a rejection with the
//! log.

use std::fmt;

pub const EFAULT: i32 = 14;
pub const EACCES: i32 = 13;
pub const EINVAL: i32 = 22;
pub const E2BIG: i32 = 7;

/// A failed check inside the verifier: the kernel's message and errno.
/// `internal` marks an inconsistency of oxbpf itself rather than an unsafe
/// program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub errno: i32,
    pub msg: String,
    pub internal: bool,
}

impl Fail {
    pub fn new(errno: i32, msg: String) -> Fail {
        Fail {
            errno,
            msg,
            internal: false,
        }
    }

    /// A bug in oxbpf: a state the verifier should never reach.
    pub fn internal(msg: String) -> Fail {
        Fail {
            errno: EFAULT,
            msg: format!("verifier bug: {msg}"),
            internal: true,
        }
    }
}

/// Why a program was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// The program is unsafe or malformed, as the kernel would say.
    Unsafe,
    /// oxbpf's verifier reached an inconsistent state: a bug in oxbpf, never
    /// a property of the program.
    Internal,
}

/// A rejected program: the full log in the kernel's format, the message
/// that caused the rejection, and the errno `bpf(2)` would return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    /// The message (one or more lines, without trailing newline), e.g.
    /// `R0 !read_ok`.
    pub message: String,
    /// The instruction being checked when it failed, if any.
    pub pc: Option<usize>,
    /// `EACCES`, `EINVAL`, `E2BIG`, … as the kernel returns them.
    pub errno: i32,
    /// The log at the requested level (always ending with the message and,
    /// once exploration started, the `processed N insns` line).
    pub log: String,
}

impl Rejection {
    /// The first line of the message: the line tests match exactly.
    pub fn error_line(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

impl fmt::Display for Rejection {
    /// The message, with the last lines of the log before it for context.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.log.lines().collect();
        let tail = &lines[lines.len().saturating_sub(8)..];
        for l in tail {
            writeln!(f, "{l}")?;
        }
        match self.pc {
            Some(pc) => write!(
                f,
                "verifier rejected the program at insn {pc}: {}",
                self.message
            ),
            None => write!(f, "verifier rejected the program: {}", self.message),
        }
    }
}

impl std::error::Error for Rejection {}
