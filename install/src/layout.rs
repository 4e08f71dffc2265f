//! Where the installer keeps its own files inside the blackbox directory.

use std::path::{Path, PathBuf};

use crate::defaults::{
    BACKUP_DIR, DEFAULT_RULES_FILE, NODE_KEY_FILE, RULES_DIR, RUNTIME_OPTIONS_FILE, STATE_FILE,
};

/// Paths derived from `--blackbox-dir` and `--config`.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The install state file.
    pub state: PathBuf,
    /// Directory of the config backup (0700: containerd configs can hold registry credentials).
    pub backup_dir: PathBuf,
    /// Copy of the original containerd config, e.g. `backup/config.toml.orig`.
    pub backup: PathBuf,
    /// The runtime options file the blackbox handler's `ConfigPath` names.
    pub runtime_options: PathBuf,
    /// The node's archive-signing key (its public half is `<node_key>.pub`).
    pub node_key: PathBuf,
    /// Directory of the rules files (0755; operators put their own rules files here too).
    pub rules_dir: PathBuf,
    /// The default Falco rules file install writes into `rules_dir`.
    pub default_rules: PathBuf,
}

impl Layout {
    pub(crate) fn new(blackbox_dir: &Path, config_path: &Path) -> Self {
        let config_name = config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config.toml".to_owned());
        let backup_dir = blackbox_dir.join(BACKUP_DIR);
        let rules_dir = blackbox_dir.join(RULES_DIR);
        Self {
            state: blackbox_dir.join(STATE_FILE),
            backup: backup_dir.join(format!("{config_name}.orig")),
            backup_dir,
            runtime_options: blackbox_dir.join(RUNTIME_OPTIONS_FILE),
            node_key: blackbox_dir.join(NODE_KEY_FILE),
            default_rules: rules_dir.join(DEFAULT_RULES_FILE),
            rules_dir,
        }
    }
}
