//! Sealed, signed per-container forensic archives: working directory, sealing, verification,
//! reading. See `docs/archive-format.md`.
//!
//! Life of one container's evidence:
//!
//! 1. [`WorkDir::create`] when the container is created; the capture writer writes
//!    [`WorkDir::capture_path`]; [`WorkDir::update_metadata`], [`WorkDir::append_exec`] and
//!    [`WorkDir::append_alert`] as facts arrive. Everything is crash-safe.
//! 2. [`seal`] when it is deleted: one tar (or tar.zst) with the capture, metadata, execs,
//!    alerts, the file-system diff of the overlay upper directory and a manifest signed with
//!    the node's [`NodeKey`], written atomically; then [`WorkDir::remove`].
//! 3. After a crash, [`recover`] seals every working directory whose owner died.
//! 4. [`apply_retention`] keeps the archive tree within limits; [`disk_low`] tells the shim
//!    to stop copying file contents when space runs out.
//! 5. Investigators: [`Archive::open`], [`verify`], [`extract_fs`].

mod capture;
mod error;
mod extract;
pub mod fsdiff;
mod fsutil;
mod key;
pub mod manifest;
mod metadata;
pub mod pathenc;
mod reader;
mod recover;
mod retention;
mod seal;
mod sys;
mod tar;
pub mod timefmt;
mod verify;
mod workdir;

pub use error::{ArchiveError, Result};
pub use extract::{destination_of, extract_fs, read_fsdiff, ExtractReport};
pub use fsdiff::{Change, Content, FileKind, FsDiffOptions, FsEntry, DEFAULT_CONTENT_CAP};
pub use key::{public_key_path, NodeKey, PublicKey, DEFAULT_NODE_KEY};
pub use manifest::{Manifest, ManifestMember, ManifestSignature};
pub use metadata::{
    ContainerIdentity, ExecRecord, ExitStatus, Metadata, OverlayDirs, SealInfo, SealState,
    METADATA_FORMAT,
};
pub use reader::{Archive, ArchiveKind, MemberInfo};
pub use recover::{recover, RecoverAction, RecoverOptions, RecoverOutcome};
pub use retention::{
    apply_retention, disk_low, list_archives, ArchiveFile, RetentionPolicy, RetentionReport,
};
pub use seal::{
    archive_path, seal, ArchiveCompression, SealOptions, SealedArchive, DEFAULT_ARCHIVES_ROOT,
};
pub use tar::ReadLimits;
pub use verify::{verify, Problem, VerifyReport};
pub use workdir::{
    capture_segments, files, list_unsealed, read_state, WorkDir, WorkState, DEFAULT_WORK_ROOT,
};
