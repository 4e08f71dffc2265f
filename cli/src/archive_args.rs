//! Shared pieces of the archive commands: opening an archive with a clear error, and the
//! default roots.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use blackbox_archive::Archive;
use blackbox_config::{NodeConfig, DEFAULT_NODE_CONFIG_PATH};

/// The node configuration the archive commands take their defaults from (where the shims
/// write): `--config`, else `$BLACKBOX_CONFIG`, else /etc/blackbox/config.toml; a missing
/// file means the defaults, a bad one is an error naming the file and the line.
pub(crate) fn node_config(path: Option<&Path>) -> Result<NodeConfig> {
    let path = path
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("BLACKBOX_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_NODE_CONFIG_PATH));
    NodeConfig::load_or_default(&path).with_context(|| {
        format!(
            "the node config {} gives the default directories (or pass them explicitly)",
            path.display()
        )
    })
}

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
