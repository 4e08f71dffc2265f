//! Extracting the file-system diff of an archive under a destination directory, and never
//! outside it: names are checked (no absolute paths, no `..`), and every file and directory is
//! created one component at a time relative to its parent's descriptor with `openat2`
//! (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`) and `O_NOFOLLOW`/`O_EXCL`, so neither a symlink
//! already in the destination nor one the archive creates is ever followed. Symlinks are
//! created last and not followed; devices, FIFOs, sockets and whiteouts are listed, not
//! created. Permission bits are applied without set-id bits; ownership is not applied.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ArchiveError, Result};
use crate::fsdiff::{FileKind, FsEntry};
use crate::manifest::members;
use crate::pathenc::{check_member_name, escape_bytes, unescape_bytes};
use crate::reader::Archive;
use crate::sys::{self, Confine};

/// Largest `fsdiff.jsonl` read.
const MAX_INDEX: u64 = 512 << 20;

/// What was extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtractReport {
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Entries not created, with the reason (escaped path).
    pub skipped: Vec<(String, String)>,
}

/// Reads and parses `fsdiff.jsonl`.
pub fn read_fsdiff(archive: &Archive) -> Result<Vec<FsEntry>> {
    let data = archive.read_member_bytes(members::FSDIFF.as_bytes(), MAX_INDEX)?;
    let mut out = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let e: FsEntry = serde_json::from_slice(line).map_err(|e| ArchiveError::BadMember {
            path: archive.path().to_path_buf(),
            member: members::FSDIFF.into(),
            reason: format!("line {}: {e}", i + 1),
        })?;
        out.push(e);
    }
    Ok(out)
}

/// Extracts the file-system diff of `archive` under `dest` (created 0700 if missing; it must
/// not be a symlink).
pub fn extract_fs(archive: &Archive, dest: &Path) -> Result<ExtractReport> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(extract_err(
                dest,
                "exists and is not a directory (symlinks are not followed)",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            crate::fsutil::create_dir_all(dest, 0o700)?;
        }
        Err(e) => return Err(ArchiveError::io("stat", dest, e)),
    }
    let root = sys::open_dir_path(dest).map_err(|e| ArchiveError::io("open", dest, e))?;
    let entries = read_fsdiff(archive)?;
    let mut report = ExtractReport::default();
    let mut by_member: HashMap<Vec<u8>, &FsEntry> = HashMap::new();
    let mut later = Vec::new();
    for e in &entries {
        let Some(rel) = safe_rel(&e.path) else {
            report
                .skipped
                .push((e.path.clone(), "unsafe or undecodable path".into()));
            continue;
        };
        match e.kind {
            FileKind::Dir => match open_dirs(root.as_fd(), &rel, true) {
                Ok((_, created)) => report.dirs += u64::from(created),
                Err(err) => report.skipped.push((e.path.clone(), err.to_string())),
            },
            FileKind::File if e.link_to.is_some() => later.push((rel, e)),
            FileKind::File => {
                if let Some(m) = e.member.as_deref().and_then(unescape_bytes) {
                    by_member.insert(m, e);
                } else {
                    report.skipped.push((
                        e.path.clone(),
                        format!("contents not in the archive ({:?})", e.content),
                    ));
                }
            }
            FileKind::Symlink => later.push((rel, e)),
            other => report.skipped.push((
                e.path.clone(),
                format!(
                    "{} not created",
                    serde_json::to_string(&other).unwrap_or_default()
                ),
            )),
        }
    }
    archive.for_each_member(|m, r| {
        let Some(rel) = m.name.strip_prefix(members::FS_PREFIX.as_bytes()) else {
            return Ok(());
        };
        let entry = by_member.get(&m.name).copied();
        match write_file(root.as_fd(), rel, r, entry) {
            Ok(()) => report.files += 1,
            Err(e) => report.skipped.push((escape_bytes(rel), e.to_string())),
        }
        Ok(())
    })?;
    for (rel, e) in later {
        let r = if let Some(target) = &e.symlink_target {
            unescape_bytes(target)
                .ok_or_else(|| io::Error::other("undecodable target"))
                .and_then(|t| {
                    let (dir, name) = parent_of(root.as_fd(), &rel)?;
                    sys::symlinkat(&t, dir.as_fd(), name)
                })
                .map(|()| report.symlinks += 1)
        } else if let Some(first) = e.link_to.as_deref().and_then(safe_rel) {
            parent_of(root.as_fd(), &first)
                .and_then(|(fdir, fname)| {
                    let (dir, name) = parent_of(root.as_fd(), &rel)?;
                    sys::linkat(fdir.as_fd(), fname, dir.as_fd(), name)
                })
                .map(|()| report.hardlinks += 1)
        } else {
            Err(io::Error::other("hard link to an unsafe path"))
        };
        if let Err(err) = r {
            report.skipped.push((e.path.clone(), err.to_string()));
        }
    }
    // Directory permissions last (deepest first), so a read-only directory does not stop
    // its own extraction.
    for e in entries.iter().rev().filter(|e| e.kind == FileKind::Dir) {
        if let Some(rel) = safe_rel(&e.path) {
            if let Ok((fd, _)) = open_dirs(root.as_fd(), &rel, false) {
                let _ = sys::fchmod(fd.as_fd(), e.mode & 0o777);
            }
        }
    }
    Ok(report)
}

fn extract_err(p: &Path, reason: &str) -> ArchiveError {
    ArchiveError::Extract {
        path: p.to_path_buf(),
        reason: reason.to_owned(),
    }
}

fn safe_rel(escaped: &str) -> Option<Vec<u8>> {
    let raw = unescape_bytes(escaped)?;
    check_member_name(&raw).ok()?;
    Some(raw)
}

/// Opens (creating with 0700 when `create`) every directory of `rel` beneath `root`.
fn open_dirs(root: BorrowedFd<'_>, rel: &[u8], create: bool) -> io::Result<(OwnedFd, bool)> {
    let mut cur = root.try_clone_to_owned()?;
    let mut created = false;
    for comp in rel.split(|&b| b == b'/') {
        if create {
            created = sys::mkdirat(cur.as_fd(), comp, 0o700)?;
        }
        cur = sys::open_beneath(
            cur.as_fd(),
            comp,
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
            Confine::Beneath,
        )
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::other(format!("{} is a symlink: not followed", escape_bytes(comp)))
            } else {
                e
            }
        })?;
    }
    Ok((cur, created))
}

/// The parent directory of `rel` (created) and its last component.
fn parent_of<'a>(root: BorrowedFd<'_>, rel: &'a [u8]) -> io::Result<(OwnedFd, &'a [u8])> {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => Ok((open_dirs(root, &rel[..i], true)?.0, &rel[i + 1..])),
        None => Ok((root.try_clone_to_owned()?, rel)),
    }
}

fn write_file(
    root: BorrowedFd<'_>,
    rel: &[u8],
    src: &mut dyn Read,
    entry: Option<&FsEntry>,
) -> io::Result<()> {
    check_member_name(rel).map_err(io::Error::other)?;
    let (dir, name) = parent_of(root, rel)?;
    let fd = sys::open_beneath(
        dir.as_fd(),
        name,
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
        0o600,
        Confine::Beneath,
    )?;
    let mut f = File::from(fd);
    io::copy(src, &mut f)?;
    f.flush()?;
    if let Some(e) = entry {
        sys::fchmod(f.as_fd(), e.mode & 0o777)?;
        if let Some(ns) = crate::timefmt::parse_rfc3339_ns(&e.mtime) {
            let _ = sys::futimens(f.as_fd(), ns);
        }
    }
    Ok(())
}

/// Where a member would be extracted (for messages).
pub fn destination_of(dest: &Path, rel: &[u8]) -> PathBuf {
    dest.join(escape_bytes(rel))
}
