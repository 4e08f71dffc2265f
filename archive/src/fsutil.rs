//! Crash-safe file operations: 0700 directories, atomic replace (temp + fsync + rename +
//! directory fsync), no-replace renames, and appends that are fsync'd.

use std::ffi::CString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{ArchiveError, Result};

/// Creates `path` and its missing parents with `mode` (existing directories are left alone).
pub(crate) fn create_dir_all(path: &Path, mode: u32) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| ArchiveError::io("create directory", path, e))
}

/// fsyncs a directory, so that a rename or creation in it is durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).map_err(|e| ArchiveError::io("open directory", dir, e))?;
    f.sync_all()
        .map_err(|e| ArchiveError::io("fsync directory", dir, e))
}

/// A temporary name next to `path`, hidden (leading `.`) and marked `.tmp`.
pub(crate) fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rnd = [0u8; 6];
    let suffix = match getrandom::fill(&mut rnd) {
        Ok(()) => hex::encode(rnd),
        Err(_) => format!("{:x}", std::process::id()),
    };
    path.with_file_name(format!(".{name}.{suffix}.tmp"))
}

/// Replaces `path` with `data` atomically: a reader sees the old or the new contents, and
/// after a crash the file is one of the two.
pub(crate) fn atomic_write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    atomic_write_with(path, data, mode, true)
}

/// [`atomic_write`], durable only once the caller fsyncs the file and its directory.
pub(crate) fn atomic_write_unsynced(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    atomic_write_with(path, data, mode, false)
}

/// fsyncs a file.
pub(crate) fn fsync_file(path: &Path) -> Result<()> {
    let f = File::open(path).map_err(|e| ArchiveError::io("open", path, e))?;
    f.sync_all().map_err(|e| ArchiveError::io("fsync", path, e))
}

fn atomic_write_with(path: &Path, data: &[u8], mode: u32, sync: bool) -> Result<()> {
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(|e| ArchiveError::io("create", &tmp, e))?;
        f.write_all(data)
            .map_err(|e| ArchiveError::io("write", &tmp, e))?;
        if sync {
            f.sync_all()
                .map_err(|e| ArchiveError::io("fsync", &tmp, e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| ArchiveError::io("rename into place", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    if let Some(dir) = path.parent().filter(|_| sync) {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Renames `from` to `to` unless `to` exists (`Ok(false)` then).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> Result<bool> {
    let c_from = cstring(from)?;
    let c_to = cstring(to)?;
    // SAFETY: both strings are valid NUL-terminated paths for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            c_from.as_ptr(),
            libc::AT_FDCWD,
            c_to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => Ok(false),
        // File systems without RENAME_NOREPLACE: link + unlink gives the same guarantee.
        Some(libc::EINVAL | libc::ENOSYS) => match std::fs::hard_link(from, to) {
            Ok(()) => {
                std::fs::remove_file(from).map_err(|e| ArchiveError::io("remove", from, e))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(ArchiveError::io("link into place", to, e)),
        },
        _ => Err(ArchiveError::io("rename into place", to, err)),
    }
}

pub(crate) fn cstring(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| ArchiveError::WorkDir {
        path: p.to_path_buf(),
        reason: "path contains a NUL byte".into(),
    })
}

/// Appends `data` to `path` (created 0600) and fsyncs it.
pub(crate) fn append_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| ArchiveError::io("open for append", path, e))?;
    f.write_all(data)
        .map_err(|e| ArchiveError::io("append", path, e))?;
    f.sync_data()
        .map_err(|e| ArchiveError::io("fsync", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_and_noreplace() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("f");
        atomic_write(&p, b"one", 0o600)?;
        atomic_write(&p, b"two", 0o600)?;
        assert_eq!(std::fs::read(&p)?, b"two");
        let q = dir.path().join("g");
        std::fs::write(&q, b"x")?;
        assert!(!rename_noreplace(&q, &p)?);
        assert_eq!(std::fs::read(&p)?, b"two");
        let r = dir.path().join("h");
        assert!(rename_noreplace(&q, &r)?);
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 2);
        assert!(temp_sibling(&p)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".f.")));
        Ok(())
    }
}
