//! The sealed archives of a run: finding them, and the `blackbox` CLI that reads them.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, ensure, Context, Result};

/// The `blackbox` CLI built next to the shim.
pub fn blackbox_cli(args: &[&str]) -> Result<std::process::Output> {
    let bin = crate::runtime::shim_dir().join("blackbox");
    let out = Command::new(&bin)
        .args(args)
        .output()
        .with_context(|| format!("running {} (cargo build --workspace --bins)", bin.display()))?;
    ensure!(
        out.status.success(),
        "blackbox {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

/// The one archive sealed for container `id` under `root` (`<ns>/<pod>/<name>-<id>-….tar`).
pub fn sealed_archive(root: &Path, id: &str) -> Result<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&format!("-{id}-")) && n.ends_with(".tar"))
            {
                found.push(p);
            }
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "expected one archive of {id} under {}, found {found:?}",
            root.display()
        ),
    }
}
