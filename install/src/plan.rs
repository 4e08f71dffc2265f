//! A plan: the file operations an install or uninstall will perform, computed up front so that
//! `--dry-run` shows exactly what a real run does (diffs included) and a real run is just
//! "apply the plan". Operations run in order; planners order them so that an interrupted run
//! leaves a state the next run can finish.

use std::fmt::Write as _;
use std::path::PathBuf;

use similar::TextDiff;

use crate::error::InstallError;
use crate::fsutil;

/// One file-system operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// Create a directory (and parents).
    CreateDir { path: PathBuf, mode: u32 },
    /// Replace or create a text file atomically.
    WriteFile {
        path: PathBuf,
        /// Current contents (`None`: the file does not exist); used for the diff.
        before: Option<String>,
        after: String,
        mode: u32,
        /// Show a diff in dry-run output (config and runtime options), rather than one line
        /// (bookkeeping files such as the state and the backup).
        show_diff: bool,
    },
    /// Copy a binary atomically with mode 0755.
    CopyBinary { from: PathBuf, to: PathBuf },
    /// Remove a file.
    RemoveFile {
        path: PathBuf,
        /// Current contents for the diff, when it is a text file worth showing.
        before: Option<String>,
    },
    /// Generate the node's Ed25519 signing key at `path` (0600) and `path.pub`, unless a key
    /// is already there.
    CreateNodeKey { path: PathBuf },
    /// Remove a directory if nothing else is in it.
    RemoveDirIfEmpty { path: PathBuf },
}

impl FileOp {
    fn apply(&self) -> Result<(), InstallError> {
        match self {
            FileOp::CreateDir { path, mode } => fsutil::create_dir_all(path, *mode),
            FileOp::WriteFile {
                path, after, mode, ..
            } => fsutil::atomic_write(path, after.as_bytes(), *mode),
            FileOp::CopyBinary { from, to } => fsutil::atomic_copy(from, to, 0o755),
            FileOp::RemoveFile { path, .. } => fsutil::remove_file(path),
            FileOp::RemoveDirIfEmpty { path } => fsutil::remove_dir_if_empty(path),
            FileOp::CreateNodeKey { path } => {
                if path.exists() {
                    return Ok(());
                }
                blackbox_archive::NodeKey::generate_and_store(path)
                    .map(|_| ())
                    .map_err(|e| InstallError::NodeKey(e.to_string()))
            }
        }
    }

    /// One line saying what the operation does.
    pub fn summary(&self) -> String {
        match self {
            FileOp::CreateDir { path, .. } => format!("create directory {}", path.display()),
            FileOp::WriteFile { path, before, .. } => match before {
                Some(_) => format!("update {}", path.display()),
                None => format!("create {}", path.display()),
            },
            FileOp::CopyBinary { from, to } => {
                format!("install {} -> {} (mode 0755)", from.display(), to.display())
            }
            FileOp::RemoveFile { path, .. } => format!("remove {}", path.display()),
            FileOp::RemoveDirIfEmpty { path } => {
                format!("remove directory {} if empty", path.display())
            }
            FileOp::CreateNodeKey { path } => format!(
                "create the node's archive-signing key {} (Ed25519, mode 0600) and {}.pub",
                path.display(),
                path.display()
            ),
        }
    }

    /// Unified diff of a text change, if this operation has one worth showing.
    pub fn diff(&self) -> Option<String> {
        let (path, before, after) = match self {
            FileOp::WriteFile {
                path,
                before,
                after,
                show_diff: true,
                ..
            } => (path, before.as_deref(), after.as_str()),
            FileOp::RemoveFile {
                path,
                before: Some(before),
            } => (path, Some(before.as_str()), ""),
            _ => return None,
        };
        let old_name = match before {
            Some(_) => format!("a/{}", relative(path)),
            None => "/dev/null".to_owned(),
        };
        let new_name = match self {
            FileOp::RemoveFile { .. } => "/dev/null".to_owned(),
            _ => format!("b/{}", relative(path)),
        };
        let diff = TextDiff::from_lines(before.unwrap_or(""), after);
        Some(
            diff.unified_diff()
                .context_radius(3)
                .header(&old_name, &new_name)
                .to_string(),
        )
    }
}

/// A path spelled for a `a/...` / `b/...` diff header.
fn relative(path: &std::path::Path) -> String {
    path.display()
        .to_string()
        .trim_start_matches('/')
        .to_owned()
}

/// What an install or uninstall will do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The operations, in order.
    pub ops: Vec<FileOp>,
    /// Things the operator should know (decisions taken, files left alone).
    pub notes: Vec<String>,
    /// Things that look wrong but did not stop the plan.
    pub warnings: Vec<String>,
    /// containerd must be restarted for the change to take effect.
    pub restart_needed: bool,
}

impl Plan {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Performs the operations in order, stopping at the first failure.
    pub fn apply(&self) -> Result<(), InstallError> {
        self.ops.iter().try_for_each(FileOp::apply)
    }

    /// Human-readable description: one line per operation, then the diffs.
    pub fn describe(&self, with_diffs: bool) -> String {
        let mut out = String::new();
        for op in &self.ops {
            let _ = writeln!(out, "  {}", op.summary());
        }
        if with_diffs {
            for diff in self.ops.iter().filter_map(FileOp::diff) {
                out.push('\n');
                out.push_str(&diff);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_has_headers_and_hunks() {
        let op = FileOp::WriteFile {
            path: "/etc/containerd/config.toml".into(),
            before: Some("a\nb\n".to_owned()),
            after: "a\nb\nc\n".to_owned(),
            mode: 0o644,
            show_diff: true,
        };
        let diff = op.diff().unwrap_or_default();
        assert!(
            diff.starts_with(
                "--- a/etc/containerd/config.toml\n+++ b/etc/containerd/config.toml\n"
            ),
            "{diff}"
        );
        assert!(diff.contains("+c\n"), "{diff}");
    }
}
