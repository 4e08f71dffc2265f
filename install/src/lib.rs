//! Node bootstrap for blackbox.
//!
//! `blackbox install` puts the shim, the CLI and the default Falco rules on a node and registers
//! the `blackbox` runtime handler in containerd's main `config.toml`; `blackbox uninstall` takes
//! all of it back. The library works in two steps so that `--dry-run` and the real run share one
//! code path: [`plan_install`] / [`plan_uninstall`] read the node and compute a [`Plan`] (a list
//! of file operations with their before/after contents), and [`Plan::apply`] carries it out.
//! [`restart_containerd`] restarts the daemon and waits until it answers again.
//!
//! See `docs/install.md` for the containerd config changes and the reasons behind them.

mod command;
mod containerd_config;
mod default_rules;
mod error;
mod fsutil;
mod handler;
mod install;
mod layout;
mod plan;
mod restart;
mod runtime_options;
mod schema;
mod state;
mod uninstall;

pub use command::CommandLine;
pub use error::InstallError;
pub use install::{plan_install, InstallOptions};
pub use plan::{FileOp, Plan};
pub use restart::{restart_containerd, ProbeMethod, RestartOptions, RestartReport};
pub use runtime_options::{OptionKind, RUNC_OPTION_KEYS};
pub use schema::ConfigSchema;
pub use state::mark_restart_done;
pub use uninstall::{plan_uninstall, UninstallOptions};

/// Name of the CRI runtime handler; a RuntimeClass's `handler` must say this.
pub const HANDLER_NAME: &str = "blackbox";

/// containerd runtime type; containerd derives the shim binary name from it.
pub const RUNTIME_TYPE: &str = "io.containerd.blackbox.v2";

/// The shim binary containerd starts for [`RUNTIME_TYPE`].
pub const SHIM_BINARY: &str = "containerd-shim-blackbox-v2";

/// The investigator's and operator's CLI.
pub const CLI_BINARY: &str = "blackbox";

/// Pod annotations containerd passes through to the shim (per-pod recording settings).
pub const POD_ANNOTATIONS: &str = "blackbox.io/*";

/// Node label key the DaemonSet sets once the node is installed; the RuntimeClass schedules
/// blackbox pods only onto nodes that carry it.
pub const NODE_LABEL_KEY: &str = "blackbox.io/runtime";

/// Value of [`NODE_LABEL_KEY`] on an installed node.
pub const NODE_LABEL_VALUE: &str = "installed";

/// The runtime type of the stock runc shim, whose options blackbox mirrors.
pub const RUNC_RUNTIME_TYPE: &str = "io.containerd.runc.v2";

/// Defaults for the command line and the manifests.
pub mod defaults {
    /// containerd's main configuration file.
    pub const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
    /// blackbox's own configuration directory: runtime options, backup, install state.
    pub const BLACKBOX_DIR: &str = "/etc/blackbox";
    /// Where the binaries go; in containerd's (systemd's default) PATH.
    pub const BIN_DIR: &str = "/usr/local/bin";
    /// containerd's gRPC socket.
    pub const CONTAINERD_ADDRESS: &str = "/run/containerd/containerd.sock";
    /// Seconds to wait for containerd to answer after a restart.
    pub const RESTART_TIMEOUT_SECS: u64 = 60;
    /// File name of the runtime options file inside the blackbox directory.
    pub const RUNTIME_OPTIONS_FILE: &str = "runtime.toml";
    /// File name of the install state inside the blackbox directory.
    pub const STATE_FILE: &str = "install-state.toml";
    /// File name of the node's Ed25519 archive-signing key inside the blackbox directory
    /// (`/etc/blackbox/node.key`, 0600; public key in `node.key.pub`).
    pub const NODE_KEY_FILE: &str = "node.key";
    /// Directory (inside the blackbox directory) of the Falco rules files the shim loads.
    pub const RULES_DIR: &str = "rules";
    /// File name of the default rules (upstream Falco's stable rules) inside [`RULES_DIR`]:
    /// `/etc/blackbox/rules/falco_rules.yaml`, the node config's default `[rules] files`.
    pub const DEFAULT_RULES_FILE: &str = "falco_rules.yaml";
    /// Directory (inside the blackbox directory) holding the original containerd config.
    pub const BACKUP_DIR: &str = "backup";
    /// Archives written by the shim; the DaemonSet mounts it so that it exists on the host.
    pub const ARCHIVE_DIR: &str = "/var/lib/blackbox";
    /// Node-level logs and alerts of the shim.
    pub const LOG_DIR: &str = "/var/log/blackbox";
}
