//! The capture of a command's input: a sealed archive (its capture member) or a plain SCAP
//! file (`.scap`, plain or gzip), as sysdig users have them.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use blackbox_archive::manifest::members;
use blackbox_archive::ArchiveError;
use blackbox_scap::ScapReader;

use crate::archive_args::open;

/// Whether `path` is a SCAP file (section header block magic, or gzip around one).
pub(crate) fn is_scap_file(path: &Path) -> Result<bool> {
    let mut f = File::open(path).with_context(|| format!("{}: open", path.display()))?;
    let mut magic = [0u8; 4];
    let n = f
        .read(&mut magic)
        .with_context(|| format!("{}: read", path.display()))?;
    if n < 4 {
        return Ok(false);
    }
    let shb = blackbox_scap::block::SHB.to_le_bytes();
    if magic == shb {
        return Ok(true);
    }
    // A gzip file: an archive is .tar or .tar.zst, so gzip means a gzip'd capture.
    Ok(magic[0] == 0x1f && magic[1] == 0x8b)
}

/// Runs `f` on a reader of the input's capture. `f`'s own errors are returned as they are.
pub(crate) fn with_capture<T>(
    path: &Path,
    f: impl FnOnce(&mut ScapReader<'_>) -> Result<T>,
) -> Result<T> {
    if is_scap_file(path)? {
        let mut reader = ScapReader::open(path)
            .map_err(|e| anyhow!("{}: not a readable SCAP capture: {e}", path.display()))?;
        return f(&mut reader);
    }
    let archive = open(path)?;
    let mut inner: Option<Result<T>> = None;
    let mut f = Some(f);
    archive.read_member(members::CAPTURE.as_bytes(), |r| {
        let mut reader = ScapReader::new(r).map_err(|e| ArchiveError::BadMember {
            path: path.to_path_buf(),
            member: members::CAPTURE.into(),
            reason: format!("not a readable SCAP capture: {e}"),
        })?;
        if let Some(f) = f.take() {
            inner = Some(f(&mut reader));
        }
        Ok(())
    })?;
    inner.unwrap_or_else(|| Err(anyhow!("{}: capture not read", path.display())))
}
