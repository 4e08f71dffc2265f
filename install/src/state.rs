//! The install state file (`/etc/blackbox/install-state.toml`): what `install` changed, so
//! that `uninstall` can take exactly that back, and can tell whether someone else changed the
//! config in between (then it must not restore the backup over their edits).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::InstallError;
use crate::fsutil::{atomic_write, read_optional_text};

/// Current layout version of the state file.
pub(crate) const STATE_FORMAT: u32 = 1;

const HEADER: &str =
    "# Written by `blackbox install`; read by `blackbox uninstall`. Do not edit.\n";

/// What an install did to the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InstallState {
    pub format: u32,
    pub blackbox_version: String,
    /// The containerd config the handler was added to, as given on the command line.
    pub config_path: PathBuf,
    /// containerd config schema version of that file.
    pub schema: i64,
    /// Whether the config existed before the install (if not, uninstall deletes it).
    pub config_existed: bool,
    /// SHA-256 of the config before the install (and of the backup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_sha256: Option<String>,
    /// SHA-256 of the config as the install left it; `None` once the config was found changed
    /// by someone else, which rules out restoring the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_sha256: Option<String>,
    /// Copy of the original config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_path: Option<PathBuf>,
    /// A `blackbox` handler was already in the config before the first install.
    pub handler_preexisting: bool,
    /// The built-in runc handler was written into the config along with ours.
    pub added_default_runc: bool,
    /// The config changed and containerd has not been restarted since.
    pub restart_pending: bool,
    pub runtime_options: RuntimeOptionsState,
    /// Binaries copied into the bin dir.
    pub binaries: Vec<PathBuf>,
    /// The node key (and its `.pub`) was created by an install (and uninstall removes it).
    #[serde(default)]
    pub node_key_created: bool,
    /// SHA-256 of the default rules file as an install wrote it; `None` when no install wrote
    /// it (or the state predates it). A file on disk with another hash was edited by someone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rules_sha256: Option<String>,
}

/// What the install did about the runtime options file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RuntimeOptionsState {
    pub path: PathBuf,
    /// We wrote it (and uninstall may remove it).
    pub created: bool,
    /// SHA-256 of what we wrote; a different file on disk means someone edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl InstallState {
    /// Reads the state file; `None` when there is none.
    pub(crate) fn load(path: &Path) -> Result<Option<Self>, InstallError> {
        let Some(text) = read_optional_text(path)? else {
            return Ok(None);
        };
        let state: Self = toml::from_str(&text).map_err(|e| InstallError::StateFile {
            path: path.to_path_buf(),
            reason: e.message().to_owned(),
        })?;
        if state.format != STATE_FORMAT {
            return Err(InstallError::StateFile {
                path: path.to_path_buf(),
                reason: format!(
                    "format {} is not understood by this blackbox (knows {STATE_FORMAT})",
                    state.format
                ),
            });
        }
        Ok(Some(state))
    }

    /// The file's text.
    pub(crate) fn render(&self) -> Result<String, InstallError> {
        let body = toml::to_string(self).map_err(|e| InstallError::StateFile {
            path: PathBuf::from(crate::defaults::STATE_FILE),
            reason: e.to_string(),
        })?;
        Ok(format!("{HEADER}{body}"))
    }
}

/// Records that containerd was restarted after an install, so the next `install --restart`
/// does not restart it again for nothing.
pub fn mark_restart_done(blackbox_dir: &Path) -> Result<(), InstallError> {
    let path = blackbox_dir.join(crate::defaults::STATE_FILE);
    let Some(mut state) = InstallState::load(&path)? else {
        return Ok(());
    };
    if !state.restart_pending {
        return Ok(());
    }
    state.restart_pending = false;
    atomic_write(&path, state.render()?.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let state = InstallState {
            format: STATE_FORMAT,
            blackbox_version: "0.1.0".to_owned(),
            config_path: "/etc/containerd/config.toml".into(),
            schema: 2,
            config_existed: true,
            original_sha256: Some("aa".to_owned()),
            installed_sha256: None,
            backup_path: Some("/etc/blackbox/backup/config.toml.orig".into()),
            handler_preexisting: false,
            added_default_runc: false,
            restart_pending: true,
            runtime_options: RuntimeOptionsState {
                path: "/etc/blackbox/runtime.toml".into(),
                created: true,
                sha256: Some("bb".to_owned()),
            },
            binaries: vec!["/usr/local/bin/blackbox".into()],
            node_key_created: true,
            default_rules_sha256: Some("cc".to_owned()),
        };
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.toml");
        std::fs::write(&path, state.render()?)?;
        assert_eq!(InstallState::load(&path)?, Some(state));
        Ok(())
    }

    #[test]
    fn a_state_from_before_the_default_rules_still_loads() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.toml");
        std::fs::write(
            &path,
            r#"format = 1
blackbox_version = "0.1.0"
config_path = "/etc/containerd/config.toml"
schema = 2
config_existed = false
handler_preexisting = false
added_default_runc = true
restart_pending = false
binaries = []

[runtime_options]
path = "/etc/blackbox/runtime.toml"
created = false
"#,
        )?;
        let state = InstallState::load(&path)?.ok_or("no state")?;
        assert_eq!(state.default_rules_sha256, None);
        assert!(!state.render()?.contains("default_rules_sha256"));
        Ok(())
    }

    #[test]
    fn garbage_is_reported_with_the_path() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.toml");
        std::fs::write(&path, "format = [")?;
        assert!(matches!(
            InstallState::load(&path),
            Err(InstallError::StateFile { .. })
        ));
        Ok(())
    }
}
