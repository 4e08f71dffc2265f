//! Which containerd config schema a file uses, and therefore where the CRI runtime handlers
//! live. containerd renamed its plugins twice:
//!
//! | `version` | containerd | CRI runtime plugin key |
//! |---|---|---|
//! | absent (1) | 1.x (deprecated) | `plugins.cri` |
//! | 2 | 1.x, and 2.x (migrated on load) | `plugins."io.containerd.grpc.v1.cri"` |
//! | 3 | 2.x | `plugins."io.containerd.cri.v1.runtime"` |

use std::fmt;
use std::path::Path;
use std::time::Duration;

use toml_edit::DocumentMut;

use crate::command::{self, CommandLine};
use crate::error::InstallError;

/// A containerd config schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSchema {
    /// No `version` key: containerd 1.x's deprecated v1 layout.
    V1,
    /// `version = 2`: containerd 1.x; containerd 2.x migrates it on load.
    V2,
    /// `version = 3`: containerd 2.x.
    V3,
}

impl ConfigSchema {
    /// The `version` number written in the file.
    pub fn version(self) -> i64 {
        match self {
            ConfigSchema::V1 => 1,
            ConfigSchema::V2 => 2,
            ConfigSchema::V3 => 3,
        }
    }

    /// Parses a version number given on the command line.
    pub fn from_version(version: i64) -> Option<Self> {
        match version {
            1 => Some(ConfigSchema::V1),
            2 => Some(ConfigSchema::V2),
            3 => Some(ConfigSchema::V3),
            _ => None,
        }
    }

    /// The id of the plugin that owns `containerd.runtimes` in this schema.
    pub fn cri_runtime_plugin(self) -> &'static str {
        match self {
            ConfigSchema::V1 => "cri",
            ConfigSchema::V2 => "io.containerd.grpc.v1.cri",
            ConfigSchema::V3 => "io.containerd.cri.v1.runtime",
        }
    }

    /// Key path of the `runtimes` table.
    pub(crate) fn runtimes_path(self) -> [&'static str; 4] {
        [
            "plugins",
            self.cri_runtime_plugin(),
            "containerd",
            "runtimes",
        ]
    }

    /// Key path of the `containerd` table (holds `default_runtime_name`).
    pub(crate) fn containerd_path(self) -> [&'static str; 3] {
        ["plugins", self.cri_runtime_plugin(), "containerd"]
    }

    /// TOML spelling of the table of runtime handler `handler`, for messages.
    pub fn handler_table(self, handler: &str) -> String {
        let plugin = self.cri_runtime_plugin();
        let plugin = if plugin.contains('.') {
            format!("\"{plugin}\"")
        } else {
            plugin.to_owned()
        };
        format!("plugins.{plugin}.containerd.runtimes.{handler}")
    }
}

impl fmt::Display for ConfigSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version {}", self.version())
    }
}

/// The schema a parsed config declares.
pub(crate) fn schema_of(doc: &DocumentMut, path: &Path) -> Result<ConfigSchema, InstallError> {
    let Some(item) = doc.get("version") else {
        return Ok(ConfigSchema::V1);
    };
    let version = item.as_integer().ok_or_else(|| InstallError::ConfigShape {
        path: path.to_path_buf(),
        reason: format!("`version` must be an integer, found {}", item.type_name()),
    })?;
    ConfigSchema::from_version(version).ok_or_else(|| InstallError::UnsupportedConfigVersion {
        path: path.to_path_buf(),
        version,
    })
}

/// The schema to write into a new config for the containerd whose `--version` output this is:
/// `containerd github.com/containerd/containerd 1.6.20~ds1 ...` or
/// `containerd github.com/containerd/containerd/v2 v2.0.0 <commit>`.
pub(crate) fn schema_for_version_output(output: &str) -> Result<ConfigSchema, String> {
    let version = output
        .split_whitespace()
        .nth(2)
        .ok_or_else(|| format!("unexpected output {:?}", output.trim()))?;
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| format!("cannot read a version number from {version:?}"))?;
    Ok(if major >= 2 {
        ConfigSchema::V3
    } else {
        ConfigSchema::V2
    })
}

/// Runs `containerd --version` to choose the schema of a config file that does not exist yet.
pub(crate) fn detect_from_containerd(
    containerd: &CommandLine,
    config: &Path,
) -> Result<ConfigSchema, InstallError> {
    let fail = |reason: String| InstallError::DetectContainerdVersion {
        config: config.to_path_buf(),
        command: format!("{containerd} --version"),
        reason,
    };
    let finished = command::run(containerd.command(&["--version"]), Duration::from_secs(10))
        .map_err(|e| fail(e.to_string()))?;
    if !finished.status.success() {
        return Err(fail(format!(
            "{}: {}",
            finished.status,
            finished.stderr.trim()
        )));
    }
    schema_for_version_output(&finished.stdout).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_containerd_version_output() {
        assert_eq!(
            schema_for_version_output(
                "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n"
            ),
            Ok(ConfigSchema::V2)
        );
        assert_eq!(
            schema_for_version_output(
                "containerd github.com/containerd/containerd v1.7.13 7c3aca7"
            ),
            Ok(ConfigSchema::V2)
        );
        assert_eq!(
            schema_for_version_output(
                "containerd github.com/containerd/containerd/v2 v2.0.0 207ad711eabd375a01713109a8a197d197ff6542"
            ),
            Ok(ConfigSchema::V3)
        );
        assert!(schema_for_version_output("containerd").is_err());
    }

    #[test]
    fn reads_the_version_key() -> Result<(), Box<dyn std::error::Error>> {
        let path = Path::new("config.toml");
        assert_eq!(schema_of(&"".parse()?, path)?, ConfigSchema::V1);
        assert_eq!(schema_of(&"version = 2".parse()?, path)?, ConfigSchema::V2);
        assert_eq!(schema_of(&"version = 3".parse()?, path)?, ConfigSchema::V3);
        assert!(matches!(
            schema_of(&"version = 7".parse()?, path),
            Err(InstallError::UnsupportedConfigVersion { version: 7, .. })
        ));
        assert!(matches!(
            schema_of(&"version = \"2\"".parse()?, path),
            Err(InstallError::ConfigShape { .. })
        ));
        Ok(())
    }

    #[test]
    fn spells_handler_tables() {
        assert_eq!(
            ConfigSchema::V2.handler_table("blackbox"),
            "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.blackbox"
        );
        assert_eq!(
            ConfigSchema::V1.handler_table("blackbox"),
            "plugins.cri.containerd.runtimes.blackbox"
        );
    }
}
