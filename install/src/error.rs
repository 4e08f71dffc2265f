//! The installer's error type. Every variant names the file or command involved, because the
//! person reading it is an operator on a node who needs to know what to look at.

use std::path::PathBuf;
use std::time::Duration;

/// Errors from planning, applying, and restarting.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The node's signing key could not be created.
    #[error("cannot create the node key: {0}")]
    NodeKey(String),

    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// containerd's config is not valid TOML; it is left untouched.
    #[error("{}:{line}:{column}: cannot parse containerd config: {reason} (the file was not changed)", path.display())]
    ConfigSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },

    /// containerd's config is valid TOML but not shaped like a containerd config.
    #[error("{}: unexpected containerd config: {reason} (the file was not changed)", path.display())]
    ConfigShape { path: PathBuf, reason: String },

    /// The config declares a schema version this installer does not know.
    #[error("{}: containerd config `version = {version}` is not supported (known: 1 and 2 for containerd 1.x, 2 and 3 for containerd 2.x)", path.display())]
    UnsupportedConfigVersion { path: PathBuf, version: i64 },

    /// The config file is absent and the containerd version could not be determined.
    #[error("{} does not exist and the containerd version could not be determined from `{command}`: {reason}; pass --containerd-config-version 2 (containerd 1.x) or 3 (containerd 2.x)", config.display())]
    DetectContainerdVersion {
        config: PathBuf,
        command: String,
        reason: String,
    },

    /// A binary to install is missing from the source directory.
    #[error("{} not found; pass --source-dir pointing at the directory holding {name}", path.display())]
    SourceBinaryMissing { name: &'static str, path: PathBuf },

    /// The install state file cannot be read.
    #[error("{}: cannot read install state: {reason}", path.display())]
    StateFile { path: PathBuf, reason: String },

    /// The install state belongs to a different containerd config than the one given.
    #[error("{}: blackbox was installed into {} but --config says {}; use the same --config (or uninstall first)", state.display(), recorded.display(), given.display())]
    StateForOtherConfig {
        state: PathBuf,
        recorded: PathBuf,
        given: PathBuf,
    },

    /// A command line option is malformed.
    #[error("invalid {what}: {reason}")]
    InvalidOption { what: &'static str, reason: String },

    /// There is no way known to restart containerd here.
    #[error("cannot restart containerd: systemd is not running here (no /run/systemd/system); pass --restart-command")]
    NoRestartMethod,

    /// The restart command could not be run or failed.
    #[error("restart command `{command}` failed: {reason}")]
    RestartFailed { command: String, reason: String },

    /// containerd did not answer on its socket in time after the restart.
    #[error("containerd did not answer on {} within {}s after the restart (last error: {last_error})", address.display(), timeout.as_secs())]
    ContainerdNotReady {
        address: PathBuf,
        timeout: Duration,
        last_error: String,
    },
}

impl InstallError {
    /// Shorthand for [`InstallError::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
