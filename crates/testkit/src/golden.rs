//! Golden files: expected output checked in next to the tests, compared
//! byte for byte and regenerated with `BLESS=1`.
//!
//! Why exact: golden listings (disassembly, verifier logs, `dump xlated`)
//! are product text, and a "close enough" comparison hides the very
//! regressions they exist to catch. Review the diff of a blessed file
//! before committing it.

use std::path::{Path, PathBuf};

/// Environment variable that rewrites golden files instead of comparing.
pub const BLESS_ENV: &str = "BLESS";

/// Why a golden comparison failed.
#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("golden file {} does not exist; run with BLESS=1 to create it", path.display())]
    Missing { path: PathBuf },
    #[error("output differs from golden file {} (run with BLESS=1 to accept):\n{diff}", path.display())]
    Mismatch { path: PathBuf, diff: String },
    #[error("golden file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether `BLESS` is set to something other than empty or `0`.
pub fn blessing() -> bool {
    std::env::var_os(BLESS_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Resolves a golden path: relative paths are relative to the repository
/// root (`testdata/golden/...`), so tests find them from any directory.
pub fn golden_path(path: impl AsRef<Path>) -> PathBuf {
    let p = path.as_ref();
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        crate::paths::repo_root().join(p)
    }
}

/// Compares `actual` with the golden file, or (with `BLESS=1`) writes it
/// when it differs. Relative paths are resolved by [`golden_path`].
pub fn check_golden(path: impl AsRef<Path>, actual: impl AsRef<[u8]>) -> Result<(), GoldenError> {
    check_golden_with(&golden_path(path), actual.as_ref(), blessing())
}

/// Panicking form of [`check_golden`], for tests.
#[track_caller]
pub fn assert_golden(path: impl AsRef<Path>, actual: impl AsRef<[u8]>) {
    if let Err(e) = check_golden(path, actual) {
        panic!("{e}");
    }
}

fn check_golden_with(path: &Path, actual: &[u8], bless: bool) -> Result<(), GoldenError> {
    let io = |source| GoldenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let expected = match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if expected.as_deref() == Some(actual) {
        return Ok(());
    }
    if bless {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, actual).map_err(io)?;
        use std::io::Write;
        // Visible even under libtest's capture: blessing changes files.
        let _ = writeln!(std::io::stderr(), "blessed {}", path.display());
        return Ok(());
    }
    match expected {
        None => Err(GoldenError::Missing {
            path: path.to_path_buf(),
        }),
        Some(exp) => Err(GoldenError::Mismatch {
            path: path.to_path_buf(),
            diff: diff(
                &String::from_utf8_lossy(&exp),
                &String::from_utf8_lossy(actual),
            ),
        }),
    }
}

/// A line diff (`-expected`, `+actual`) with two lines of context, from a
/// longest-common-subsequence table; beyond 2000 lines a side, only the
/// first differing line is shown, to keep the table small.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    if a.len() > 2000 || b.len() > 2000 {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        return format!(
            "first difference at line {}:\n-{}+{}",
            i + 1,
            a.get(i).copied().unwrap_or("<end of file>\n"),
            b.get(i).copied().unwrap_or("<end of file>\n")
        );
    }
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(2);
        let hi = (k + 3).min(ops.len());
        ops[lo..hi].iter().any(|(c, _)| *c != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped {
                out.push_str("...\n");
                skipped = false;
            }
            out.push(*c);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ no newline at end\n");
            }
        } else {
            skipped = true;
        }
    }
    if skipped {
        out.push_str("...\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("oxbpf-golden-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("sub/out.txt")
    }

    #[test]
    fn missing_then_blessed_then_equal_then_mismatch() {
        let p = tmp("cycle");
        assert!(matches!(
            check_golden_with(&p, b"a\nb\n", false),
            Err(GoldenError::Missing { .. })
        ));
        check_golden_with(&p, b"a\nb\n", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"a\nb\n");
        check_golden_with(&p, b"a\nb\n", false).unwrap();
        match check_golden_with(&p, b"a\nc\n", false) {
            Err(GoldenError::Mismatch { diff, .. }) => assert_eq!(diff, " a\n-b\n+c\n"),
            other => panic!("expected mismatch, got {other:?}"),
        }
        // The file is untouched by a failed comparison.
        assert_eq!(std::fs::read(&p).unwrap(), b"a\nb\n");
        let _ = std::fs::remove_dir_all(p.parent().unwrap().parent().unwrap());
    }

    #[test]
    fn diff_elides_far_context() {
        let exp: String = (0..20).map(|i| format!("{i}\n")).collect();
        let act = exp.replace("10\n", "ten\n");
        assert_eq!(diff(&exp, &act), "...\n 8\n 9\n-10\n+ten\n 11\n 12\n...\n");
    }

    #[test]
    fn relative_paths_resolve_against_the_repo_root() {
        assert_eq!(
            golden_path("testdata/x"),
            crate::paths::repo_root().join("testdata/x")
        );
        assert_eq!(golden_path("/abs/x"), PathBuf::from("/abs/x"));
    }
}
