//! Typed errors of the capture writer.

use std::path::PathBuf;

use blackbox_scap::{BuildError, WriteError};

/// Why a capture could not be created or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// Creating, writing or syncing the capture file failed.
    #[error("capture file {path}: {source}")]
    Io {
        /// The capture file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The SCAP writer refused a block (metadata it cannot encode, or an I/O failure).
    #[error("capture file {path}: {source}")]
    Write {
        /// The capture file.
        path: PathBuf,
        /// The writer's error.
        source: WriteError,
    },
    /// An event could not be built even in its generic fallback form (a bug, not bad data).
    #[error("building event: {0}")]
    Build(#[from] BuildError),
    /// The capture metadata is unusable.
    #[error("invalid capture metadata: {0}")]
    InvalidMeta(String),
}
