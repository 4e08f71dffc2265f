//! Shared pieces of the archive commands: opening an archive with a clear error, and the
//! default roots.

use std::path::Path;

use anyhow::Result;
use blackbox_archive::Archive;

/// Default archive tree (until the node config has an `[archive]` section).
pub(crate) const DEFAULT_ARCHIVES_ROOT: &str = blackbox_archive::DEFAULT_ARCHIVES_ROOT;
/// Default working directories.
pub(crate) const DEFAULT_WORK_ROOT: &str = blackbox_archive::DEFAULT_WORK_ROOT;
/// Default node key.
pub(crate) const DEFAULT_NODE_KEY: &str = blackbox_archive::DEFAULT_NODE_KEY;

/// Opens an archive, with a spinner while it is scanned.
pub(crate) fn open(path: &Path) -> Result<Archive> {
    let pb = crate::progress::spinner(&format!("reading {}", path.display()));
    let r = Archive::open(path);
    crate::progress::done(pb);
    Ok(r?)
}

/// Prints a JSON value on one line.
pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

/// Bytes for humans.
pub(crate) fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
