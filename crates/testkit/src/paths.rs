//! Where the repository and its test data are, independent of the directory
//! the test runs in (cargo runs each crate's tests in that crate's directory,
//! nextest and scripts may not).

use std::path::{Path, PathBuf};

/// The workspace root: the nearest ancestor of this crate's manifest
/// directory (or, failing that, of the current directory) that holds a
/// `Cargo.toml` with a `[workspace]` table.
pub fn repo_root() -> PathBuf {
    let start = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        std::env::current_dir().ok(),
    ];
    for dir in start.into_iter().flatten() {
        if let Some(root) = find_workspace_root(&dir) {
            return root;
        }
    }
    // The compile-time manifest dir is always two levels below the root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn find_workspace_root(from: &Path) -> Option<PathBuf> {
    from.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

/// `<repo>/testdata`.
pub fn testdata_dir() -> PathBuf {
    repo_root().join("testdata")
}

/// `<repo>/testdata/<rel>`.
pub fn testdata(rel: impl AsRef<Path>) -> PathBuf {
    testdata_dir().join(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_workspace_root_and_testdata() {
        let root = repo_root();
        assert!(
            root.join("crates/testkit/Cargo.toml").is_file(),
            "{}",
            root.display()
        );
        assert!(testdata_dir().join("conformance").is_dir());
        assert_eq!(testdata("conformance"), root.join("testdata/conformance"));
    }

    #[test]
    fn no_workspace_above_a_temp_dir() {
        assert_eq!(find_workspace_root(&std::env::temp_dir()), None);
    }
}
