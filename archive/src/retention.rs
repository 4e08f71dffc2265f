//! Retention of sealed archives (size and age limits, oldest deleted first), the listing of
//! the archive tree, and the low-disk guard.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{ArchiveError, Result};

/// Limits on the archive tree; `None` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Total bytes of all archives.
    pub max_total_bytes: Option<u64>,
    /// Age (by file modification time, i.e. seal time).
    pub max_age: Option<Duration>,
    /// Bytes per namespace (first directory level).
    pub max_namespace_bytes: Option<u64>,
}

/// One archive file in the tree, with what its path says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// The file.
    pub path: PathBuf,
    /// Namespace directory.
    pub namespace: String,
    /// Pod directory.
    pub pod: String,
    /// Container name from the file name (`_` when unknown).
    pub container: String,
    /// The short container id from the file name.
    pub short_id: String,
    /// Start time from the file name (`20240501T120000Z`).
    pub start: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time (when it was sealed).
    pub modified: SystemTime,
}

/// Lists the archives under `root` (`<ns>/<pod>/<file>.tar[.zst]`), oldest first. Hidden and
/// temporary files (archives being written) and symlinks are skipped.
pub fn list_archives(root: &Path) -> Result<Vec<ArchiveFile>> {
    let mut out = Vec::new();
    for (ns, ns_path) in subdirs(root)? {
        for (pod, pod_path) in subdirs(&ns_path)? {
            let rd =
                std::fs::read_dir(&pod_path).map_err(|e| ArchiveError::io("list", &pod_path, e))?;
            for ent in rd {
                let ent = ent.map_err(|e| ArchiveError::io("list", &pod_path, e))?;
                let name = ent.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name.ends_with(".tmp") {
                    continue;
                }
                let Some((container, short_id, start)) = parse_name(&name) else {
                    continue;
                };
                let Ok(meta) = ent.path().symlink_metadata() else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                out.push(ArchiveFile {
                    path: ent.path(),
                    namespace: ns.clone(),
                    pod: pod.clone(),
                    container,
                    short_id,
                    start,
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
    }
    out.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.path.cmp(&b.path)));
    Ok(out)
}

fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ArchiveError::io("list", dir, e)),
    };
    let mut v = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ArchiveError::io("list", dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && ent.file_type().is_ok_and(|t| t.is_dir()) {
            v.push((name, ent.path()));
        }
    }
    v.sort();
    Ok(v)
}

/// Splits `<container>-<short id>-<YYYYMMDDTHHMMSSZ>[-<n>].tar[.zst]`.
pub(crate) fn parse_name(name: &str) -> Option<(String, String, String)> {
    let stem = name
        .strip_suffix(".tar.zst")
        .or_else(|| name.strip_suffix(".tar"))?;
    let mut parts: Vec<&str> = stem.rsplitn(4, '-').collect();
    parts.reverse();
    // Drop a collision suffix (all digits) after the time.
    let is_time = |s: &str| s.len() == 16 && s.as_bytes()[8] == b'T' && s.ends_with('Z');
    let (container, short, start) = match parts.as_slice() {
        [c, s, t, n] if is_time(t) && n.bytes().all(|b| b.is_ascii_digit()) => (*c, *s, *t),
        [a, c, s, t] if is_time(t) => (&stem[..a.len() + 1 + c.len()], *s, *t),
        [c, s, t] if is_time(t) => (*c, *s, *t),
        _ => return None,
    };
    Some((container.to_owned(), short.to_owned(), start.to_owned()))
}

/// What retention did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Archives deleted (or that would be, in a dry run), in order.
    pub deleted: Vec<PathBuf>,
    /// Bytes freed.
    pub freed_bytes: u64,
}

/// Applies `policy` to the archives under `root`: first everything older than `max_age`, then
/// the oldest of each namespace over `max_namespace_bytes`, then the oldest overall while over
/// `max_total_bytes`. Archives being written (hidden temporary files) are never touched.
pub fn apply_retention(
    root: &Path,
    policy: &RetentionPolicy,
    now: SystemTime,
    dry_run: bool,
) -> Result<RetentionReport> {
    let all = list_archives(root)?;
    let mut doomed = vec![false; all.len()];
    if let Some(age) = policy.max_age {
        for (i, a) in all.iter().enumerate() {
            if now.duration_since(a.modified).is_ok_and(|d| d > age) {
                doomed[i] = true;
            }
        }
    }
    if let Some(limit) = policy.max_namespace_bytes {
        let mut per_ns: BTreeMap<&str, u64> = BTreeMap::new();
        for (i, a) in all.iter().enumerate() {
            if !doomed[i] {
                *per_ns.entry(&a.namespace).or_default() += a.size;
            }
        }
        for (i, a) in all.iter().enumerate() {
            let used = per_ns.get(a.namespace.as_str()).copied().unwrap_or(0);
            if !doomed[i] && used > limit {
                doomed[i] = true;
                per_ns.insert(&a.namespace, used - a.size);
            }
        }
    }
    if let Some(limit) = policy.max_total_bytes {
        let mut total: u64 = all
            .iter()
            .zip(&doomed)
            .filter(|(_, d)| !**d)
            .map(|(a, _)| a.size)
            .sum();
        for (i, a) in all.iter().enumerate() {
            if total <= limit {
                break;
            }
            if !doomed[i] {
                doomed[i] = true;
                total -= a.size;
            }
        }
    }
    let mut report = RetentionReport::default();
    for (a, d) in all.iter().zip(doomed) {
        if !d {
            continue;
        }
        if !dry_run {
            match std::fs::remove_file(&a.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ArchiveError::io("remove", &a.path, e)),
            }
        }
        report.freed_bytes += a.size;
        report.deleted.push(a.path.clone());
    }
    Ok(report)
}

/// True when the file system holding `path` (or its nearest existing ancestor) has fewer than
/// `min_free_bytes` available, or cannot be asked. The shim stops copying file contents first,
/// and recording only when even that is not enough.
pub fn disk_low(path: &Path, min_free_bytes: u64) -> bool {
    let mut p = Some(path);
    while let Some(cur) = p {
        if cur.exists() {
            return crate::sys::free_bytes(cur).map_or(true, |free| free < min_free_bytes);
        }
        p = cur.parent();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed() {
        assert_eq!(
            parse_name("web-abcdef012345-20240501T120000Z.tar"),
            Some((
                "web".into(),
                "abcdef012345".into(),
                "20240501T120000Z".into()
            ))
        );
        assert_eq!(
            parse_name("my-app-abcdef012345-20240501T120000Z-2.tar.zst"),
            Some((
                "my-app".into(),
                "abcdef012345".into(),
                "20240501T120000Z".into()
            ))
        );
        assert_eq!(
            parse_name("a-b-c-abc-20240501T120000Z.tar"),
            Some(("a-b-c".into(), "abc".into(), "20240501T120000Z".into()))
        );
        assert_eq!(parse_name("x.tar"), None);
        assert_eq!(parse_name("web-abc-20240501T120000Z.zip"), None);
    }

    #[test]
    fn retention_deletes_oldest_first() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let mk = |ns: &str, name: &str, size: usize, age_s: u64| -> std::io::Result<PathBuf> {
            let d = root.path().join(ns).join("pod");
            std::fs::create_dir_all(&d)?;
            let p = d.join(name);
            std::fs::write(&p, vec![0u8; size])?;
            let t = SystemTime::now() - Duration::from_secs(age_s);
            std::fs::File::options()
                .write(true)
                .open(&p)?
                .set_modified(t)?;
            Ok(p)
        };
        let old = mk("a", "c-1-20240101T000000Z.tar", 100, 10_000)?;
        let mid = mk("a", "c-2-20240101T000000Z.tar", 100, 5_000)?;
        let new = mk("b", "c-3-20240101T000000Z.tar", 100, 10)?;
        let tmp = mk("a", ".c-4-20240101T000000Z.tar.abc.tmp", 1000, 100_000)?;
        assert_eq!(list_archives(root.path())?.len(), 3);
        let policy = RetentionPolicy {
            max_total_bytes: Some(150),
            ..RetentionPolicy::default()
        };
        let r = apply_retention(root.path(), &policy, SystemTime::now(), true)?;
        assert_eq!(r.deleted, vec![old.clone(), mid.clone()]);
        let policy = RetentionPolicy {
            max_age: Some(Duration::from_secs(7_000)),
            max_namespace_bytes: Some(50),
            ..RetentionPolicy::default()
        };
        let r = apply_retention(root.path(), &policy, SystemTime::now(), false)?;
        assert_eq!(r.deleted, vec![old.clone(), mid.clone(), new.clone()]);
        assert!(tmp.exists() && !old.exists());
        assert!(!disk_low(root.path(), 1));
        assert!(disk_low(root.path(), u64::MAX));
        assert!(!disk_low(&root.path().join("no/such/dir"), 1));
        Ok(())
    }
}
