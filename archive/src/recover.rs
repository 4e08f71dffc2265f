//! Recovery: sealing the working directories whose owner died (a shim crash, a node reboot).
//!
//! A working directory is taken over when nobody holds its lock and the process in
//! `owner.pid` is gone (or is another process that reused the pid: the start time differs).
//! It is sealed as `recovered`, with the capture checked and cut after its last complete
//! gzip member (see `capture.rs`), and removed once its archive is in place. Working
//! directories already sealed by a shim that died before removing them are removed.

use std::path::{Path, PathBuf};

use crate::error::{ArchiveError, Result};
use crate::key::NodeKey;
use crate::metadata::SealState;
use crate::seal::{seal, ArchiveCompression, SealOptions, SealedArchive};
use crate::workdir::{read_state, WorkDir, WorkState};

/// How to recover.
#[derive(Debug, Clone)]
pub struct RecoverOptions {
    /// Where archives go.
    pub archives_root: PathBuf,
    /// Archive compression.
    pub compression: ArchiveCompression,
    /// Only say what would be done.
    pub dry_run: bool,
    /// Remove working directories once sealed (default true).
    pub remove_workdirs: bool,
    /// File-content budget per archive.
    pub content_cap: u64,
    /// Free-space guard for copying file contents.
    pub min_free_bytes: u64,
}

impl RecoverOptions {
    /// Defaults.
    pub fn new(archives_root: impl Into<PathBuf>) -> Self {
        let base = SealOptions::new(PathBuf::new());
        Self {
            archives_root: archives_root.into(),
            compression: ArchiveCompression::None,
            dry_run: false,
            remove_workdirs: true,
            content_cap: base.content_cap,
            min_free_bytes: base.min_free_bytes,
        }
    }
}

/// What happened to one working directory.
#[derive(Debug)]
pub enum RecoverAction {
    /// Sealed as `recovered`.
    Sealed(SealedArchive),
    /// Would be sealed (dry run).
    WouldSeal,
    /// Its owner is alive: left alone.
    InUse(String),
    /// Already sealed (into this archive); the leftover directory was removed (or would be).
    LeftoverRemoved(PathBuf),
    /// Sealing failed; the directory is left for another try.
    Failed(ArchiveError),
}

/// One working directory's outcome.
#[derive(Debug)]
pub struct RecoverOutcome {
    /// The working directory.
    pub work_dir: PathBuf,
    /// What happened.
    pub action: RecoverAction,
}

/// Recovers every working directory under `work_root` whose owner is dead. `key` may be
/// `None` only for a dry run.
pub fn recover(
    work_root: &Path,
    key: Option<&NodeKey>,
    opts: &RecoverOptions,
) -> Result<Vec<RecoverOutcome>> {
    if key.is_none() && !opts.dry_run {
        return Err(ArchiveError::InvalidOption(
            "recovery needs the node key to sign archives".into(),
        ));
    }
    let mut out = Vec::new();
    for dir in candidates(work_root)? {
        let action = recover_one(&dir, key, opts);
        out.push(RecoverOutcome {
            work_dir: dir,
            action,
        });
    }
    Ok(out)
}

fn candidates(root: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ArchiveError::io("list", root, e)),
    };
    let mut v = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ArchiveError::io("list", root, e))?;
        let p = ent.path();
        if ent.file_type().is_ok_and(|t| t.is_dir())
            && p.join(crate::workdir::files::METADATA).is_file()
        {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

fn recover_one(dir: &Path, key: Option<&NodeKey>, opts: &RecoverOptions) -> RecoverAction {
    let wd = match WorkDir::open(dir) {
        Ok(wd) => wd,
        Err(ArchiveError::Busy { reason, .. }) => return RecoverAction::InUse(reason),
        Err(e) => return RecoverAction::Failed(e),
    };
    if let Ok(WorkState::Sealed(archive)) = read_state(dir) {
        if archive.is_file() {
            if !opts.dry_run && opts.remove_workdirs {
                if let Err(e) = wd.remove() {
                    return RecoverAction::Failed(e);
                }
            }
            return RecoverAction::LeftoverRemoved(archive);
        }
        // Marked sealed but the archive is gone: seal again rather than lose the evidence.
    }
    if opts.dry_run {
        return RecoverAction::WouldSeal;
    }
    let Some(key) = key else {
        return RecoverAction::Failed(ArchiveError::InvalidOption("no node key".into()));
    };
    let mut so = SealOptions::new(&opts.archives_root);
    so.compression = opts.compression;
    so.state = SealState::Recovered;
    so.repair_capture = true;
    so.content_cap = opts.content_cap;
    so.min_free_bytes = opts.min_free_bytes;
    match seal(&wd, key, &so) {
        Ok(sealed) => {
            if opts.remove_workdirs {
                if let Err(e) = wd.remove() {
                    return RecoverAction::Failed(e);
                }
            }
            RecoverAction::Sealed(sealed)
        }
        Err(e) => RecoverAction::Failed(e),
    }
}
