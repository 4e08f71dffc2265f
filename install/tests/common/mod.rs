//! A fake node in a temporary directory: containerd config, blackbox dir, bin dir, and a
//! source dir with stand-in binaries. Nothing outside the temporary directory is touched.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use blackbox_install::{
    plan_install, plan_uninstall, CommandLine, InstallError, InstallOptions, Plan,
    UninstallOptions, CLI_BINARY, SHIM_BINARY,
};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const FIXTURE_16: &str = include_str!("../fixtures/containerd-1.6-default.toml");
pub const FIXTURE_20: &str = include_str!("../fixtures/containerd-2.0-custom.toml");

pub struct Node {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub blackbox_dir: PathBuf,
    pub bin_dir: PathBuf,
    pub source_dir: PathBuf,
}

impl Node {
    /// A node whose containerd config is `config` (`None`: no config file).
    pub fn new(config: Option<&str>) -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let node = Self {
            config: root.join("etc/containerd/config.toml"),
            blackbox_dir: root.join("etc/blackbox"),
            bin_dir: root.join("usr/local/bin"),
            source_dir: root.join("image/bin"),
            dir,
        };
        // A node has these already; the installer must not be the one creating them.
        fs::create_dir_all(&node.source_dir)?;
        fs::create_dir_all(&node.bin_dir)?;
        fs::create_dir_all(root.join("etc"))?;
        for name in [SHIM_BINARY, CLI_BINARY] {
            let path = node.source_dir.join(name);
            fs::write(&path, format!("#!/bin/sh\necho {name}\n"))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        if let Some(text) = config {
            fs::create_dir_all(node.config.parent().ok_or("no parent")?)?;
            fs::write(&node.config, text)?;
        }
        Ok(node)
    }

    pub fn install_options(&self) -> InstallOptions {
        InstallOptions {
            config_path: self.config.clone(),
            blackbox_dir: self.blackbox_dir.clone(),
            bin_dir: self.bin_dir.clone(),
            source_dir: self.source_dir.clone(),
            containerd: CommandLine::program("/nonexistent/containerd"),
            config_schema: None,
        }
    }

    pub fn uninstall_options(&self) -> UninstallOptions {
        UninstallOptions {
            config_path: self.config.clone(),
            blackbox_dir: self.blackbox_dir.clone(),
            bin_dir: self.bin_dir.clone(),
        }
    }

    pub fn install(&self) -> Result<Plan, InstallError> {
        let plan = plan_install(&self.install_options())?;
        plan.apply()?;
        Ok(plan)
    }

    pub fn uninstall(&self) -> Result<Plan, InstallError> {
        let plan = plan_uninstall(&self.uninstall_options())?;
        plan.apply()?;
        Ok(plan)
    }

    pub fn config_text(&self) -> std::io::Result<String> {
        fs::read_to_string(&self.config)
    }

    pub fn runtime_options(&self) -> PathBuf {
        self.blackbox_dir.join("runtime.toml")
    }

    pub fn default_rules(&self) -> PathBuf {
        self.blackbox_dir.join("rules/falco_rules.yaml")
    }

    pub fn state_file(&self) -> PathBuf {
        self.blackbox_dir.join("install-state.toml")
    }

    /// Every file under the node (except the source dir) with its bytes and mode, to
    /// compare whole-node states byte for byte.
    pub fn snapshot(&self) -> Result<BTreeMap<PathBuf, (String, u32)>, std::io::Error> {
        let mut files = BTreeMap::new();
        walk(self.dir.path(), &self.source_dir, &mut files)?;
        Ok(files)
    }
}

fn walk(
    dir: &Path,
    skip: &Path,
    files: &mut BTreeMap<PathBuf, (String, u32)>,
) -> Result<(), std::io::Error> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.starts_with(skip) {
            continue;
        }
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            files.insert(path.clone(), (String::new(), meta.permissions().mode()));
            walk(&path, skip, files)?;
        } else {
            // Text, so that a failing comparison prints something readable.
            let text = String::from_utf8_lossy(&fs::read(&path)?).into_owned();
            files.insert(path.clone(), (text, meta.permissions().mode()));
        }
    }
    Ok(())
}

/// True when every line of `original` appears in `edited`, in order (nothing was lost or
/// reordered; lines may have been added in between).
pub fn keeps_all_lines(original: &str, edited: &str) -> bool {
    let mut edited = edited.lines();
    original
        .lines()
        .all(|line| edited.by_ref().any(|candidate| candidate == line))
}

/// The table at a dotted path in a parsed document.
pub fn table<'a>(doc: &'a toml_edit::DocumentMut, path: &[&str]) -> Option<&'a toml_edit::Item> {
    let mut item = doc.as_item();
    for key in path {
        item = item.get(key)?;
    }
    Some(item)
}
