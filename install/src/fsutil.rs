//! File helpers. Every write is atomic (temporary file in the same directory, fsync, rename,
//! fsync of the directory) so that a crash or a full disk never leaves containerd with a
//! half-written config or the node with a truncated shim binary.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::InstallError;

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of a file's contents, streamed (binaries can be large).
pub(crate) fn sha256_file(path: &Path) -> Result<String, InstallError> {
    let mut file = File::open(path).map_err(|e| InstallError::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| InstallError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Reads a file; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, InstallError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InstallError::io("read", path, e)),
    }
}

/// Reads a UTF-8 text file; `None` when it does not exist.
pub(crate) fn read_optional_text(path: &Path) -> Result<Option<String>, InstallError> {
    read_optional(path)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| {
                InstallError::io(
                    "read",
                    path,
                    std::io::Error::new(ErrorKind::InvalidData, "file is not valid UTF-8"),
                )
            })
        })
        .transpose()
}

/// Permission bits of an existing file, `None` when it does not exist.
pub(crate) fn file_mode(path: &Path) -> Result<Option<u32>, InstallError> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.permissions().mode() & 0o7777)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InstallError::io("inspect", path, e)),
    }
}

/// The path to write when replacing `path`: its target when it is a symlink, so that a
/// symlinked config (common with config management) stays a symlink.
pub(crate) fn write_target(path: &Path) -> Result<PathBuf, InstallError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| InstallError::io("resolve symlink", path, e))
        }
        _ => Ok(path.to_path_buf()),
    }
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.blackbox-tmp-{}", std::process::id()))
}

fn sync_parent(path: &Path) -> Result<(), InstallError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = File::open(parent).map_err(|e| InstallError::io("open directory", parent, e))?;
    dir.sync_all()
        .map_err(|e| InstallError::io("sync directory", parent, e))
}

/// Writes `path` atomically with permission bits `mode`.
pub(crate) fn atomic_write(path: &Path, contents: &[u8], mode: u32) -> Result<(), InstallError> {
    let target = write_target(path)?;
    let tmp = temp_path_for(&target);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| InstallError::io("create", &tmp, e))?;
        file.write_all(contents)
            .map_err(|e| InstallError::io("write", &tmp, e))?;
        // The umask may have narrowed `mode`; set it explicitly.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| InstallError::io("set permissions of", &tmp, e))?;
        file.sync_all()
            .map_err(|e| InstallError::io("sync", &tmp, e))?;
        fs::rename(&tmp, &target).map_err(|e| InstallError::io("rename into place", &target, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_parent(&target)
}

/// Copies `src` to `dst` atomically with permission bits `mode`. Renaming over a running
/// binary is safe: running shims keep the old inode.
pub(crate) fn atomic_copy(src: &Path, dst: &Path, mode: u32) -> Result<(), InstallError> {
    let tmp = temp_path_for(dst);
    let result = (|| {
        fs::copy(src, &tmp).map_err(|e| InstallError::io("copy to", &tmp, e))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| InstallError::io("set permissions of", &tmp, e))?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| InstallError::io("sync", &tmp, e))?;
        fs::rename(&tmp, dst).map_err(|e| InstallError::io("rename into place", dst, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_parent(dst)
}

/// Removes a file; a file that is already gone is fine.
pub(crate) fn remove_file(path: &Path) -> Result<(), InstallError> {
    match fs::remove_file(path) {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(InstallError::io("remove", path, e)),
    }
}

/// Removes a directory if it is empty; leaves it (and says nothing) otherwise, because other
/// blackbox components keep their own files next to ours.
pub(crate) fn remove_dir_if_empty(path: &Path) -> Result<(), InstallError> {
    match fs::read_dir(path) {
        Ok(mut entries) => {
            if entries.next().is_none() {
                match fs::remove_dir(path) {
                    // A mount point (the DaemonSet mounts /etc/blackbox from the host): its
                    // owner removes it.
                    Err(e) if e.kind() == ErrorKind::ResourceBusy => {}
                    other => {
                        other.map_err(|e| InstallError::io("remove directory", path, e))?;
                    }
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(InstallError::io("read directory", path, e)),
    }
}

/// Creates a directory and its parents with permission bits `mode` on the ones it creates.
pub(crate) fn create_dir_all(path: &Path, mode: u32) -> Result<(), InstallError> {
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| InstallError::io("create directory", path, e))
}

/// True when `a` and `b` name the same file (after following symlinks).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn atomic_write_replaces_symlink_target_not_link() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let real = dir.path().join("real.toml");
        let link = dir.path().join("link.toml");
        fs::write(&real, "a")?;
        std::os::unix::fs::symlink(&real, &link)?;
        atomic_write(&link, b"b", 0o640)?;
        assert!(fs::symlink_metadata(&link)?.file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real)?, "b");
        assert_eq!(file_mode(&real)?, Some(0o640));
        Ok(())
    }
}
