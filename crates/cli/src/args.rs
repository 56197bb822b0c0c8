//! bpftool-style argument parsing: positional words and `keyword VALUE`
//! pairs, with errors that name the offending word.

use std::collections::VecDeque;

/// An error in the command line, printed as bpftool prints its own
/// (`Error: ...`).
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Builds a [`CliError`] from a format string.
#[macro_export]
macro_rules! cli_err {
    ($($t:tt)*) => { $crate::args::CliError(format!($($t)*)) };
}

pub type CliResult<T> = Result<T, CliError>;

/// The remaining words of a command line.
pub struct Args {
    words: VecDeque<String>,
}

impl Args {
    pub fn new(words: Vec<String>) -> Self {
        Args {
            words: words.into(),
        }
    }

    /// The next word, or an error saying what was expected.
    pub fn next(&mut self, what: &str) -> CliResult<String> {
        self.words
            .pop_front()
            .ok_or_else(|| cli_err!("expected {what}"))
    }

    /// The next word if there is one.
    pub fn next_opt(&mut self) -> Option<String> {
        self.words.pop_front()
    }

    /// Looks at the next word without consuming it.
    pub fn peek(&self) -> Option<&str> {
        self.words.front().map(|s| s.as_str())
    }

    /// Fails if words are left over, naming the first.
    pub fn finish(&self) -> CliResult<()> {
        match self.words.front() {
            None => Ok(()),
            Some(w) => Err(cli_err!("unexpected argument '{w}'")),
        }
    }
}
