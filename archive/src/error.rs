//! The crate's error type: every variant names the file involved and says what is wrong.

use std::path::PathBuf;

/// Errors of the archive library.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A system call on a file failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// What was being done ("create", "read", "fsync", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A JSON file of a working directory could not be read or written.
    #[error("{path}: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is not a blackbox archive (not tar or tar.zst, or no manifest).
    #[error("{path}: not a blackbox archive: {reason}")]
    NotAnArchive {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The archive's structure is damaged or truncated.
    #[error("{path}: damaged archive at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset in the tar stream (after decompression).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The archive exceeds a reading limit (member count, sizes, …).
    #[error("{path}: {reason}")]
    Limit {
        /// The file.
        path: PathBuf,
        /// Which limit.
        reason: String,
    },
    /// A member the operation needs is missing.
    #[error("{path}: member {member} is missing")]
    MemberMissing {
        /// The archive.
        path: PathBuf,
        /// The member name.
        member: String,
    },
    /// A member could not be decoded.
    #[error("{path}: member {member}: {reason}")]
    BadMember {
        /// The archive.
        path: PathBuf,
        /// The member name.
        member: String,
        /// What is wrong.
        reason: String,
    },
    /// A key file could not be used.
    #[error("{path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A working directory is unusable.
    #[error("{path}: {reason}")]
    WorkDir {
        /// The working directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A working directory is held by a live process.
    #[error("{path}: in use by a running process ({reason})")]
    Busy {
        /// The working directory.
        path: PathBuf,
        /// Who holds it.
        reason: String,
    },
    /// Walking the overlay upper directory failed as a whole.
    #[error("{path}: file-system diff: {reason}")]
    FsDiff {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Extracting refused or failed.
    #[error("{path}: extract: {reason}")]
    Extract {
        /// The path involved (in the destination).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Bad options given by the caller.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

impl ArchiveError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;
