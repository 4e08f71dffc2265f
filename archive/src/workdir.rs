//! The per-container working directory, written while the container runs and sealed into an
//! archive when it ends (or by `recover` after a crash).
//!
//! ```text
//! <root>/<container id>/          0700
//!   lock                          flock'd by the owning process for as long as it lives
//!   owner.pid                     "<pid> <start time in clock ticks>\n" of the owner
//!   state                         "open\n", "sealing\n" or "sealed\n<archive path>\n"
//!   metadata.json                 replaced atomically on every update
//!   execs.jsonl, alerts.jsonl     appended one line at a time, fsync'd
//!   capture.scap [, capture.N.scap …]  the capture segments, in order
//! ```
//! Every file is 0600.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{ArchiveError, Result};
use crate::fsutil;
use crate::metadata::{ContainerIdentity, ExecRecord, Metadata};
use crate::pathenc::sanitize_component;
use crate::sys;
use crate::timefmt;

/// Default root of the working directories.
pub const DEFAULT_WORK_ROOT: &str = "/var/lib/blackbox/work";

/// File names inside a working directory.
pub mod files {
    /// The first (often only) capture segment.
    pub const CAPTURE: &str = "capture.scap";
    /// Container metadata.
    pub const METADATA: &str = "metadata.json";
    /// Exec sessions.
    pub const EXECS: &str = "execs.jsonl";
    /// Alerts.
    pub const ALERTS: &str = "alerts.jsonl";
    /// Seal state marker.
    pub const STATE: &str = "state";
    /// Owner process.
    pub const OWNER: &str = "owner.pid";
    /// Lock file.
    pub const LOCK: &str = "lock";
}

/// Where a working directory is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkState {
    /// Being written.
    Open,
    /// A seal started and did not finish.
    Sealing,
    /// Sealed into the archive at this path.
    Sealed(PathBuf),
}

impl WorkState {
    /// The `state` file's content.
    fn text(&self) -> String {
        match self {
            WorkState::Open => "open\n".to_owned(),
            WorkState::Sealing => "sealing\n".to_owned(),
            WorkState::Sealed(p) => format!("sealed\n{}\n", p.display()),
        }
    }
}

/// An open working directory, locked by this process.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    metadata: Metadata,
    // Held for the lifetime of the value: the flock is the owner's liveness signal.
    _lock: File,
}

impl WorkDir {
    /// Creates `<root>/<id>/` (0700, `root` created if missing), writes `metadata.json`,
    /// `owner.pid` and `state`, and locks it. Fails if it already exists.
    pub fn create(root: &Path, identity: &ContainerIdentity) -> Result<WorkDir> {
        let wd = Self::create_unsynced(root, identity, |_| {})?;
        wd.sync()?;
        Ok(wd)
    }

    /// [`WorkDir::create`] with `prepare` applied to the metadata first, and without waiting
    /// for the disk: the directory and its files are durable only after [`WorkDir::sync`].
    /// For a caller on a latency-critical path (the shim between `runc create` and
    /// `runc start`: nine fsyncs cost ~30 ms there) that syncs right after, on another thread.
    pub fn create_unsynced(
        root: &Path,
        identity: &ContainerIdentity,
        prepare: impl FnOnce(&mut Metadata),
    ) -> Result<WorkDir> {
        if identity.id.is_empty() {
            return Err(ArchiveError::InvalidOption("empty container id".into()));
        }
        fsutil::create_dir_all(root, 0o700)?;
        let path = root.join(sanitize_component(&identity.id));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| ArchiveError::io("create working directory", &path, e))?;
        let lock = lock_file(&path)?;
        if !sys::try_lock_exclusive(&lock).map_err(|e| ArchiveError::io("lock", &path, e))? {
            return Err(ArchiveError::Busy {
                path,
                reason: "locked by another process".into(),
            });
        }
        let mut metadata = Metadata::new(identity, timefmt::now_rfc3339());
        prepare(&mut metadata);
        let wd = WorkDir {
            path,
            metadata,
            _lock: lock,
        };
        let unsynced = |name: &str, text: &[u8]| {
            fsutil::atomic_write_unsynced(&wd.path.join(name), text, 0o600)
        };
        unsynced(files::OWNER, wd.owner_line().as_bytes())?;
        unsynced(files::METADATA, &wd.metadata_bytes()?)?;
        unsynced(files::STATE, WorkState::Open.text().as_bytes())?;
        Ok(wd)
    }

    /// Makes what [`WorkDir::create_unsynced`] wrote durable: its files, the directory, and
    /// the directory's entry in its parent.
    pub fn sync(&self) -> Result<()> {
        for name in [files::OWNER, files::METADATA, files::STATE] {
            fsutil::fsync_file(&self.path.join(name))?;
        }
        fsutil::fsync_dir(&self.path)?;
        if let Some(root) = self.path.parent() {
            fsutil::fsync_dir(root)?;
        }
        Ok(())
    }

    /// Opens an existing working directory and takes it over: fails with [`ArchiveError::Busy`]
    /// while its owner is alive (holds the lock, or the process in `owner.pid` still runs).
    pub fn open(path: &Path) -> Result<WorkDir> {
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| ArchiveError::io("open working directory", path, e))?;
        if !meta.is_dir() {
            return Err(ArchiveError::WorkDir {
                path: path.to_path_buf(),
                reason: "not a directory".into(),
            });
        }
        let lock = lock_file(path)?;
        if !sys::try_lock_exclusive(&lock).map_err(|e| ArchiveError::io("lock", path, e))? {
            return Err(ArchiveError::Busy {
                path: path.to_path_buf(),
                reason: "its lock is held".into(),
            });
        }
        if let Some((pid, start)) = read_owner(path) {
            if pid != std::process::id() && sys::process_start_time(pid) == Some(start) {
                return Err(ArchiveError::Busy {
                    path: path.to_path_buf(),
                    reason: format!("owner pid {pid} is still running"),
                });
            }
        }
        let mpath = path.join(files::METADATA);
        let text = read_bounded(&mpath, 16 << 20)?;
        let metadata: Metadata = serde_json::from_slice(&text).map_err(|e| ArchiveError::Json {
            path: mpath.clone(),
            reason: format!("not valid metadata: {e}"),
        })?;
        let wd = WorkDir {
            path: path.to_path_buf(),
            metadata,
            _lock: lock,
        };
        wd.write_owner()?;
        Ok(wd)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the capture writer writes the first segment.
    pub fn capture_path(&self) -> PathBuf {
        self.path.join(files::CAPTURE)
    }

    /// Where segment `n` goes (`n` = 0 is [`WorkDir::capture_path`], then `capture.<n>.scap`).
    pub fn segment_path(&self, n: u32) -> PathBuf {
        if n == 0 {
            self.capture_path()
        } else {
            self.path.join(format!("capture.{n}.scap"))
        }
    }

    /// The capture segments present, in order.
    pub fn capture_segments(&self) -> Result<Vec<PathBuf>> {
        capture_segments(&self.path)
    }

    /// The current metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Applies `f` to the metadata and replaces `metadata.json` atomically.
    pub fn update_metadata(&mut self, f: impl FnOnce(&mut Metadata)) -> Result<()> {
        let mut m = self.metadata.clone();
        f(&mut m);
        let old = std::mem::replace(&mut self.metadata, m);
        if let Err(e) = self.write_metadata() {
            self.metadata = old;
            return Err(e);
        }
        Ok(())
    }

    /// Appends an exec session to `execs.jsonl` (one line, fsync'd).
    pub fn append_exec(&self, exec: &ExecRecord) -> Result<()> {
        let path = self.path.join(files::EXECS);
        let mut line = serde_json::to_vec(exec).map_err(|e| ArchiveError::Json {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        fsutil::append_synced(&path, &line)
    }

    /// Appends an alert (any JSON value) to `alerts.jsonl` (one line, fsync'd).
    pub fn append_alert(&self, alert: &serde_json::Value) -> Result<()> {
        let mut line = serde_json::to_vec(alert).map_err(|e| ArchiveError::Json {
            path: self.path.join(files::ALERTS),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        fsutil::append_synced(&self.path.join(files::ALERTS), &line)
    }

    /// Appends pre-serialised alert lines (each must be one JSON document; a missing final
    /// newline is added).
    pub fn append_alert_bytes(&self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut data = bytes.to_vec();
        if !data.ends_with(b"\n") {
            data.push(b'\n');
        }
        fsutil::append_synced(&self.path.join(files::ALERTS), &data)
    }

    /// The state marker.
    pub fn state(&self) -> Result<WorkState> {
        read_state(&self.path)
    }

    pub(crate) fn set_state(&self, s: &WorkState) -> Result<()> {
        fsutil::atomic_write(&self.path.join(files::STATE), s.text().as_bytes(), 0o600)
    }

    fn metadata_bytes(&self) -> Result<Vec<u8>> {
        let mut text =
            serde_json::to_vec_pretty(&self.metadata).map_err(|e| ArchiveError::Json {
                path: self.path.join(files::METADATA),
                reason: e.to_string(),
            })?;
        text.push(b'\n');
        Ok(text)
    }

    fn write_metadata(&self) -> Result<()> {
        let text = self.metadata_bytes()?;
        fsutil::atomic_write(&self.path.join(files::METADATA), &text, 0o600)
    }

    fn owner_line(&self) -> String {
        let pid = std::process::id();
        let start = sys::process_start_time(pid).unwrap_or(0);
        format!("{pid} {start}\n")
    }

    fn write_owner(&self) -> Result<()> {
        fsutil::atomic_write(
            &self.path.join(files::OWNER),
            self.owner_line().as_bytes(),
            0o600,
        )
    }

    /// Removes the working directory (after a successful seal). Consumes the value, releasing
    /// the lock last.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.path)
            .map_err(|e| ArchiveError::io("remove working directory", &self.path, e))
    }
}

fn lock_file(dir: &Path) -> Result<File> {
    let p = dir.join(files::LOCK);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(&p)
        .map_err(|e| ArchiveError::io("open lock file", &p, e))
}

fn read_owner(dir: &Path) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(dir.join(files::OWNER)).ok()?;
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| ArchiveError::io("read", path, e))?;
    let mut v = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut v)
        .map_err(|e| ArchiveError::io("read", path, e))?;
    if v.len() as u64 > max {
        return Err(ArchiveError::WorkDir {
            path: path.to_path_buf(),
            reason: format!("larger than {max} bytes"),
        });
    }
    Ok(v)
}

/// Reads the state marker of a working directory.
pub fn read_state(dir: &Path) -> Result<WorkState> {
    let p = dir.join(files::STATE);
    let text = match read_bounded(&p, 64 * 1024) {
        Ok(t) => t,
        // A directory that crashed before its first state write is open.
        Err(ArchiveError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(WorkState::Open)
        }
        Err(e) => return Err(e),
    };
    let text = String::from_utf8_lossy(&text);
    let mut lines = text.lines();
    match lines.next() {
        Some("open") | None => Ok(WorkState::Open),
        Some("sealing") => Ok(WorkState::Sealing),
        Some("sealed") => Ok(WorkState::Sealed(PathBuf::from(lines.next().unwrap_or("")))),
        Some(other) => Err(ArchiveError::WorkDir {
            path: p,
            reason: format!("unknown state {other:?}"),
        }),
    }
}

/// The capture segments of a working directory in order: `capture.scap`, then
/// `capture.<n>.scap` by increasing `n`, then any other `capture*.scap` by name.
pub fn capture_segments(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| ArchiveError::io("list", dir, e))?;
    let mut segs: Vec<(u8, u64, String)> = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ArchiveError::io("list", dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("capture") && name.ends_with(".scap")) {
            continue;
        }
        if !ent.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let key = if name == files::CAPTURE {
            (0, 0)
        } else if let Some(n) = name
            .strip_prefix("capture.")
            .and_then(|r| r.strip_suffix(".scap"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            (1, n)
        } else {
            (2, 0)
        };
        segs.push((key.0, key.1, name));
    }
    segs.sort();
    Ok(segs.into_iter().map(|(_, _, n)| dir.join(n)).collect())
}

/// Working directories under `root` that are not sealed (open, or a seal that did not
/// finish), whoever owns them. [`crate::recover`] decides which owners are dead.
pub fn list_unsealed(root: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ArchiveError::io("list", root, e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ArchiveError::io("list", root, e))?;
        if !ent.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = ent.path();
        if !dir.join(files::METADATA).is_file() {
            continue;
        }
        if !matches!(read_state(&dir), Ok(WorkState::Sealed(_))) {
            out.push(dir);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn unsynced_create_writes_the_prepared_metadata() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let id = ContainerIdentity {
            id: "c2".into(),
            ..ContainerIdentity::default()
        };
        let wd = WorkDir::create_unsynced(&root.path().join("work"), &id, |m| {
            m.started_at = Some("2026-12-01T00:00:00Z".into());
        })?;
        wd.sync()?;
        let m: Metadata = serde_json::from_slice(&std::fs::read(wd.path().join(files::METADATA))?)?;
        assert_eq!(m.started_at.as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(wd.state()?, WorkState::Open);
        assert!(read_owner(wd.path()).is_some_and(|(pid, _)| pid == std::process::id()));
        let leftovers: Vec<_> = std::fs::read_dir(wd.path())?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        Ok(())
    }

    #[test]
    fn lifecycle() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let id = ContainerIdentity {
            id: "c1".into(),
            ..ContainerIdentity::default()
        };
        let mut wd = WorkDir::create(&root.path().join("work"), &id)?;
        assert_eq!(
            std::fs::metadata(wd.path())?.permissions().mode() & 0o777,
            0o700
        );
        assert!(WorkDir::create(&root.path().join("work"), &id).is_err());
        wd.update_metadata(|m| m.oom_killed = true)?;
        wd.append_exec(&ExecRecord {
            exec_id: "e1".into(),
            argv: vec!["sh".into()],
            ..ExecRecord::default()
        })?;
        wd.append_alert(&serde_json::json!({"rule": "x"}))?;
        wd.append_alert_bytes(b"{\"rule\":\"y\"}")?;
        let m: Metadata = serde_json::from_slice(&std::fs::read(wd.path().join(files::METADATA))?)?;
        assert!(m.oom_killed);
        assert_eq!(
            std::fs::read_to_string(wd.path().join(files::ALERTS))?
                .lines()
                .count(),
            2
        );
        for f in [files::METADATA, files::EXECS, files::ALERTS, files::STATE] {
            assert_eq!(
                std::fs::metadata(wd.path().join(f))?.permissions().mode() & 0o777,
                0o600,
                "{f}"
            );
        }
        // Held by us: another open (as recovery would) is refused while the lock is held.
        let other = File::open(wd.path().join(files::LOCK))?;
        assert!(!sys::try_lock_exclusive(&other)?);
        assert_eq!(list_unsealed(&root.path().join("work"))?.len(), 1);
        std::fs::write(wd.path().join("capture.2.scap"), b"")?;
        std::fs::write(wd.path().join("capture.10.scap"), b"")?;
        std::fs::write(wd.capture_path(), b"")?;
        let segs: Vec<String> = wd
            .capture_segments()?
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(segs, ["capture.scap", "capture.2.scap", "capture.10.scap"]);
        let path = wd.path().to_path_buf();
        drop(wd);
        let wd = WorkDir::open(&path)?;
        assert!(wd.metadata().oom_killed);
        assert_eq!(wd.state()?, WorkState::Open);
        Ok(())
    }
}
