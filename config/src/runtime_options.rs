//! The runtime options of `io.containerd.blackbox.v2`.
//!
//! containerd's CRI plugin decodes a handler's `options` table into runc's
//! `Options` message only for `io.containerd.runc.v2`; for every other
//! runtime type it decodes `runtimeoptions.v1.Options { TypeUrl, ConfigPath }`
//! and drops every other key. blackbox therefore takes runc's options, under
//! exactly runc's key names, from the TOML file named by `ConfigPath`, so an
//! operator who switches a handler from runc to blackbox carries the same
//! keys over unchanged. When containerd sends runc's own `Options` message
//! (a client that sets them explicitly), the shim maps it to this same type.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{parse_toml, ConfigError};

/// Where `blackbox install` writes the runtime options file.
pub const DEFAULT_RUNTIME_OPTIONS_PATH: &str = "/etc/blackbox/runtime.toml";

/// runc's shim options, under the key names containerd uses for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeOptions {
    /// The runc binary (name looked up in PATH, or a path). Empty: `runc`.
    #[serde(rename = "BinaryName")]
    pub binary_name: String,
    /// runc's state root; the namespace is appended. Empty: `/run/containerd/runc`.
    #[serde(rename = "Root")]
    pub root: String,
    /// Use systemd to manage the container's cgroups.
    #[serde(rename = "SystemdCgroup")]
    pub systemd_cgroup: bool,
    /// Pass `--no-pivot` to runc.
    #[serde(rename = "NoPivotRoot")]
    pub no_pivot_root: bool,
    /// Pass `--no-new-keyring` to runc.
    #[serde(rename = "NoNewKeyring")]
    pub no_new_keyring: bool,
    /// The cgroup the shim itself is placed in.
    #[serde(rename = "ShimCgroup")]
    pub shim_cgroup: String,
    /// Owner of the stdio pipes given to the container.
    #[serde(rename = "IoUid")]
    pub io_uid: u32,
    /// Group of the stdio pipes given to the container.
    #[serde(rename = "IoGid")]
    pub io_gid: u32,
    /// CRIU binary, for checkpoint/restore (accepted for compatibility).
    #[serde(rename = "CriuPath")]
    pub criu_path: String,
    /// Checkpoint image path (accepted for compatibility).
    #[serde(rename = "CriuImagePath")]
    pub criu_image_path: String,
    /// Checkpoint work path (accepted for compatibility).
    #[serde(rename = "CriuWorkPath")]
    pub criu_work_path: String,
}

impl RuntimeOptions {
    /// Reads and validates a runtime options file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses runtime options from `text`; `path` only names the source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let options: Self = parse_toml(path, text)?;
        options.validate(path)?;
        Ok(options)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        if self.binary_name.contains('\0') {
            return Err(invalid("BinaryName", "contains a NUL byte".into()));
        }
        if !self.root.is_empty() && !Path::new(&self.root).is_absolute() {
            return Err(invalid(
                "Root",
                format!("{:?} is not an absolute path", self.root),
            ));
        }
        Ok(())
    }

    /// The runc binary to run.
    pub fn runc_binary(&self) -> &str {
        if self.binary_name.is_empty() {
            "runc"
        } else {
            &self.binary_name
        }
    }

    /// runc's `--root` for a containerd namespace.
    pub fn runc_root(&self, namespace: &str) -> PathBuf {
        let root = if self.root.is_empty() {
            "/run/containerd/runc"
        } else {
            &self.root
        };
        Path::new(root).join(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeOptions, ConfigError> {
        RuntimeOptions::parse(Path::new("/etc/blackbox/runtime.toml"), text)
    }

    #[test]
    fn empty_file_means_runc_defaults() {
        let options = parse("").expect("empty file is valid");
        assert_eq!(options, RuntimeOptions::default());
        assert_eq!(options.runc_binary(), "runc");
        assert_eq!(
            options.runc_root("k8s.io"),
            Path::new("/run/containerd/runc/k8s.io")
        );
    }

    #[test]
    fn runc_key_names_are_accepted() {
        let options = parse(
            "BinaryName = \"/usr/sbin/runc\"\nRoot = \"/run/blackbox/runc\"\n\
             SystemdCgroup = true\nNoPivotRoot = true\nNoNewKeyring = true\n\
             IoUid = 1000\nIoGid = 1001\nShimCgroup = \"/shims\"\n",
        )
        .expect("valid");
        assert_eq!(options.runc_binary(), "/usr/sbin/runc");
        assert_eq!(
            options.runc_root("default"),
            Path::new("/run/blackbox/runc/default")
        );
        assert!(options.systemd_cgroup && options.no_pivot_root && options.no_new_keyring);
        assert_eq!((options.io_uid, options.io_gid), (1000, 1001));
        assert_eq!(options.shim_cgroup, "/shims");
    }

    #[test]
    fn unknown_key_is_named_with_its_position() {
        let err = parse("BinaryName = \"runc\"\nSystemdCgroups = true\n").expect_err("unknown key");
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/blackbox/runtime.toml:2:1: "),
            "{text}"
        );
        assert!(text.contains("SystemdCgroups"), "{text}");
    }

    #[test]
    fn wrong_type_is_positioned() {
        let err = parse("\n\nSystemdCgroup = \"yes\"\n").expect_err("wrong type");
        let ConfigError::Parse { line, .. } = err else {
            panic!("expected a parse error, got {err}");
        };
        assert_eq!(line, 3);
    }

    #[test]
    fn relative_root_is_refused() {
        let err = parse("Root = \"run/runc\"\n").expect_err("relative root");
        assert!(err.to_string().contains("Root"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent.toml");
        let err = RuntimeOptions::load(&path).expect_err("missing");
        assert!(err.to_string().contains("absent.toml"), "{err}");
    }
}
