//! The node configuration, `/etc/blackbox/config.toml`, and the per-container
//! recording policy that pod annotations can narrow.
//!
//! A missing file means the defaults; a file that is present must be valid:
//! an unknown key or a bad value is an error naming the file, the line and
//! the key, never silently ignored.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::alerting::{AlertsConfig, RulesConfig};
use crate::classes::{check_classes, parse_class_list, SyscallClass};
use crate::error::{parse_toml, ConfigError};

/// Where the node configuration lives.
pub const DEFAULT_NODE_CONFIG_PATH: &str = "/etc/blackbox/config.toml";

/// The largest data buffer recorded per syscall (the eBPF side's limit).
pub const MAX_SNAPLEN: u32 = 65_535;

/// Annotation prefix blackbox reads (containerd passes `blackbox.io/*` pod
/// annotations through to the container's OCI spec).
pub const ANNOTATION_PREFIX: &str = "blackbox.io/";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    pub recording: RecordingConfig,
    pub archive: ArchiveConfig,
    pub rules: RulesConfig,
    pub alerts: AlertsConfig,
}

/// `[archive]`: where and how containers' evidence is sealed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Root of the sealed archives (`<namespace>/<pod>/<container>-….tar[.zst]` below it).
    pub archives_dir: PathBuf,
    /// The node's Ed25519 signing key (created by `blackbox install`, or by the first shim
    /// that needs it).
    pub node_key: PathBuf,
    /// `none` (plain tar, which any `tar` opens) or `zstd`.
    pub compression: ArchiveCompressionName,
    /// zstd level, 1..=19.
    pub zstd_level: i32,
    /// File contents copied per archive; beyond it files are hashed and listed only.
    pub content_cap_bytes: u64,
    /// Below this much free space on the archive file system, file contents are no longer
    /// copied (recording goes on).
    pub min_free_bytes: u64,
    /// Retention, applied after every seal: oldest archives go first.
    pub retention: RetentionConfig,
}

/// Archive compression, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveCompressionName {
    None,
    Zstd,
}

/// `[archive.retention]`: limits on the archive tree (absent = no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub max_total_bytes: Option<u64>,
    pub max_age_days: Option<u64>,
    pub max_namespace_bytes: Option<u64>,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            archives_dir: PathBuf::from("/var/lib/blackbox/archives"),
            node_key: PathBuf::from("/etc/blackbox/node.key"),
            compression: ArchiveCompressionName::None,
            zstd_level: 3,
            content_cap_bytes: 64 << 20,
            min_free_bytes: 1 << 30,
            retention: RetentionConfig::default(),
        }
    }
}

impl ArchiveConfig {
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: format!("archive.{key}"),
            reason,
        };
        for (key, dir) in [
            ("archives_dir", &self.archives_dir),
            ("node_key", &self.node_key),
        ] {
            if !dir.is_absolute() {
                return Err(invalid(
                    key,
                    format!("{} is not an absolute path", dir.display()),
                ));
            }
        }
        if !(1..=19).contains(&self.zstd_level) {
            return Err(invalid(
                "zstd_level",
                format!("{} is outside 1..=19", self.zstd_level),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Record containers at all.
    pub enabled: bool,
    /// Bytes of data kept per read/write/send/recv (sysdig's default: 80).
    pub snaplen: u32,
    /// Size of each container's ring buffer (a power of two, ≥ 4096).
    pub ring_buffer_bytes: u32,
    /// Refuse to start a container whose recording cannot start.
    pub fail_closed: bool,
    /// Per-container working directories (captures being written).
    pub work_dir: PathBuf,
    /// Where the eBPF programs and maps are pinned (bpffs).
    pub bpf_pin_root: PathBuf,
    /// The syscall classes recorded (default: all; `process` cannot be left out).
    pub syscall_classes: Vec<SyscallClass>,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            snaplen: 80,
            ring_buffer_bytes: 8 << 20,
            fail_closed: false,
            work_dir: PathBuf::from("/var/lib/blackbox/work"),
            bpf_pin_root: PathBuf::from("/sys/fs/bpf/blackbox"),
            syscall_classes: SyscallClass::ALL.to_vec(),
        }
    }
}

impl NodeConfig {
    /// Loads the file; a file that does not exist means the defaults.
    pub fn load_or_default(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: Self = parse_toml(path, text)?;
        config.recording.validate(path)?;
        config.archive.validate(path)?;
        config.rules.validate(path)?;
        config.alerts.validate(path)?;
        Ok(config)
    }
}

impl RecordingConfig {
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: format!("recording.{key}"),
            reason,
        };
        check_snaplen(self.snaplen).map_err(|r| invalid("snaplen", r))?;
        check_ring_bytes(self.ring_buffer_bytes).map_err(|r| invalid("ring_buffer_bytes", r))?;
        check_classes(&self.syscall_classes).map_err(|r| invalid("syscall_classes", r))?;
        for (key, dir) in [
            ("work_dir", &self.work_dir),
            ("bpf_pin_root", &self.bpf_pin_root),
        ] {
            if !dir.is_absolute() {
                return Err(invalid(
                    key,
                    format!("{} is not an absolute path", dir.display()),
                ));
            }
        }
        Ok(())
    }
}

fn check_ring_bytes(bytes: u32) -> Result<(), String> {
    if !bytes.is_power_of_two() || bytes < 4096 {
        return Err(format!("{bytes} is not a power of two ≥ 4096"));
    }
    Ok(())
}

fn check_snaplen(snaplen: u32) -> Result<(), String> {
    if snaplen == 0 || snaplen > MAX_SNAPLEN {
        return Err(format!("{snaplen} is outside 1..={MAX_SNAPLEN}"));
    }
    Ok(())
}

/// What is recorded for one container: the node's settings, narrowed by the
/// container's `blackbox.io/*` annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPolicy {
    pub enabled: bool,
    pub snaplen: u32,
    pub ring_buffer_bytes: u32,
    pub fail_closed: bool,
    /// Sorted, without duplicates, always with `Process`.
    pub syscall_classes: Vec<SyscallClass>,
}

/// An annotation with a value blackbox cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {key}={value:?}: {reason}")]
pub struct AnnotationError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl ContainerPolicy {
    /// The policy for a container with these OCI annotations. Recognised:
    /// `blackbox.io/record` (`true`/`false`), `blackbox.io/snaplen` (bytes),
    /// `blackbox.io/fail-closed` (`true`/`false`), `blackbox.io/ring-buffer-bytes`
    /// (a power of two ≥ 4096: a busy container's ring), `blackbox.io/syscall-classes`
    /// (`process,file,net`…, or `all`). Any other `blackbox.io/`
    /// key is an error, so a typo is not silently a no-op.
    /// The node's policy, with no annotation applied.
    pub fn node_default(node: &RecordingConfig) -> Self {
        ContainerPolicy {
            enabled: node.enabled,
            snaplen: node.snaplen,
            ring_buffer_bytes: node.ring_buffer_bytes,
            fail_closed: node.fail_closed,
            syscall_classes: {
                let mut c = node.syscall_classes.clone();
                c.sort();
                c.dedup();
                c
            },
        }
    }

    pub fn from_annotations(
        node: &RecordingConfig,
        annotations: &HashMap<String, String>,
    ) -> Result<Self, AnnotationError> {
        let mut policy = ContainerPolicy::node_default(node);
        let mut keys: Vec<&String> = annotations
            .keys()
            .filter(|k| k.starts_with(ANNOTATION_PREFIX))
            .collect();
        keys.sort();
        for key in keys {
            let value = &annotations[key];
            let err = |reason: String| AnnotationError {
                key: key.clone(),
                value: value.clone(),
                reason,
            };
            match &key[ANNOTATION_PREFIX.len()..] {
                "record" => policy.enabled = parse_bool(value).map_err(err)?,
                "fail-closed" => policy.fail_closed = parse_bool(value).map_err(err)?,
                "snaplen" => {
                    let n: u32 = value
                        .parse()
                        .map_err(|_| err("not a number of bytes".into()))?;
                    check_snaplen(n).map_err(err)?;
                    policy.snaplen = n;
                }
                "ring-buffer-bytes" => {
                    let n: u32 = value
                        .parse()
                        .map_err(|_| err("not a number of bytes".into()))?;
                    check_ring_bytes(n).map_err(err)?;
                    policy.ring_buffer_bytes = n;
                }
                "syscall-classes" => {
                    policy.syscall_classes = parse_class_list(value).map_err(err)?
                }
                _ => {
                    return Err(err(
                        "unknown blackbox annotation (known: record, snaplen, fail-closed, \
                         ring-buffer-bytes, syscall-classes)"
                            .into(),
                    ))
                }
            }
        }
        Ok(policy)
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(Path::new("/etc/blackbox/config.toml"), text)
    }

    #[test]
    fn missing_file_is_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = NodeConfig::load_or_default(&dir.path().join("none.toml")).expect("ok");
        assert_eq!(config, NodeConfig::default());
        assert!(config.recording.enabled);
        assert_eq!(config.recording.snaplen, 80);
    }

    #[test]
    fn archive_section_is_read_and_checked() {
        let c = parse(
            "[archive]\narchives_dir = \"/data/bb\"\ncompression = \"zstd\"\n\
             [archive.retention]\nmax_age_days = 30\n",
        )
        .expect("ok");
        assert_eq!(c.archive.archives_dir, PathBuf::from("/data/bb"));
        assert_eq!(c.archive.compression, ArchiveCompressionName::Zstd);
        assert_eq!(c.archive.retention.max_age_days, Some(30));
        assert_eq!(c.archive.node_key, PathBuf::from("/etc/blackbox/node.key"));
        let e = parse("[archive]\ncompression = \"lz4\"\n").expect_err("bad name");
        assert!(e.to_string().contains("config.toml:2:"), "{e}");
        let e = parse("[archive]\nzstd_level = 40\n").expect_err("bad level");
        assert!(e.to_string().contains("archive.zstd_level"), "{e}");
        let e = parse("[archive]\narchives_dir = \"rel\"\n").expect_err("relative");
        assert!(e.to_string().contains("archive.archives_dir"), "{e}");
        let e = parse("[archive.retention]\nmax_days = 3\n").expect_err("unknown key");
        assert!(e.to_string().contains("max_days"), "{e}");
    }

    #[test]
    fn rules_and_alerts_sections_are_read_and_checked() {
        let c = parse(
            "[rules]\nfiles = [\"/etc/falco/a.yaml\", \"/etc/falco/b.yaml\"]\n\
             min_priority = \"warning\"\n[alerts]\nwebhook_url = \"http://127.0.0.1:2801/\"\n",
        )
        .expect("ok");
        assert_eq!(c.rules.files.len(), 2);
        assert_eq!(c.rules.min_priority, "warning");
        assert_eq!(c.alerts.webhook_url, "http://127.0.0.1:2801/");
        assert_eq!(
            NodeConfig::default().rules.files,
            vec![PathBuf::from(crate::DEFAULT_RULES_FILE)]
        );
        let e = parse("[rules]\nmin_priority = \"loud\"\n").expect_err("bad priority");
        assert!(e.to_string().contains("rules.min_priority"), "{e}");
        let e = parse("[rules]\nfiles = [\"rel.yaml\"]\n").expect_err("relative");
        assert!(e.to_string().contains("rules.files"), "{e}");
        let e = parse("[alerts]\nwebhook_url = \"https://x/\"\n").expect_err("https");
        assert!(e.to_string().contains("alerts.webhook_url"), "{e}");
        let e = parse("[alerts]\nlog = \"/x\"\n").expect_err("unknown key");
        assert!(e.to_string().contains("config.toml:2:"), "{e}");
    }

    #[test]
    fn syscall_classes_are_read_and_checked() {
        let c = parse("[recording]\nsyscall_classes = [\"process\", \"net\"]\n").expect("ok");
        assert_eq!(
            c.recording.syscall_classes,
            vec![SyscallClass::Process, SyscallClass::Net]
        );
        let e = parse("[recording]\nsyscall_classes = [\"process\", \"fiel\"]\n")
            .expect_err("unknown class");
        let msg = e.to_string();
        assert!(msg.contains("config.toml:2:"), "{msg}");
        assert!(msg.contains("fiel"), "{msg}");
        let e = parse("[recording]\nsyscall_classes = [\"file\"]\n").expect_err("no process");
        assert!(e.to_string().contains("recording.syscall_classes"), "{e}");

        let node = RecordingConfig::default();
        let a = HashMap::from([(
            "blackbox.io/syscall-classes".to_string(),
            "process,file".to_string(),
        )]);
        let p = ContainerPolicy::from_annotations(&node, &a).expect("ok");
        assert_eq!(
            p.syscall_classes,
            vec![SyscallClass::Process, SyscallClass::File]
        );
        let a = HashMap::from([("blackbox.io/syscall-classes".to_string(), "net".to_string())]);
        let e = ContainerPolicy::from_annotations(&node, &a).expect_err("no process");
        assert!(e.to_string().contains("syscall-classes"), "{e}");
    }

    #[test]
    fn values_are_read_and_checked() {
        let c = parse("[recording]\nsnaplen = 4096\nfail_closed = true\n").expect("ok");
        assert_eq!(c.recording.snaplen, 4096);
        assert!(c.recording.fail_closed);
        let e = parse("[recording]\nsnaplen = 70000\n").expect_err("too big");
        assert!(e.to_string().contains("recording.snaplen"), "{e}");
        let e = parse("[recording]\nring_buffer_bytes = 5000\n").expect_err("not a power of two");
        assert!(e.to_string().contains("ring_buffer_bytes"), "{e}");
        let e = parse("[recording]\nwork_dir = \"rel\"\n").expect_err("relative");
        assert!(e.to_string().contains("work_dir"), "{e}");
    }

    #[test]
    fn unknown_keys_are_positioned() {
        let e = parse("[recording]\nsnaplen = 80\nsnap_len = 1\n").expect_err("unknown");
        assert!(
            e.to_string().starts_with("/etc/blackbox/config.toml:3:1"),
            "{e}"
        );
    }

    #[test]
    fn annotations_narrow_the_policy() {
        let node = RecordingConfig::default();
        let mut a = HashMap::new();
        a.insert("blackbox.io/snaplen".to_string(), "1024".to_string());
        a.insert("blackbox.io/record".to_string(), "false".to_string());
        a.insert(
            "blackbox.io/ring-buffer-bytes".to_string(),
            "16384".to_string(),
        );
        a.insert("io.kubernetes.cri.sandbox-id".to_string(), "x".to_string());
        let p = ContainerPolicy::from_annotations(&node, &a).expect("ok");
        assert_eq!(p.snaplen, 1024);
        assert_eq!(p.ring_buffer_bytes, 16384);
        assert!(!p.enabled);
    }

    #[test]
    fn bad_annotations_are_named() {
        let node = RecordingConfig::default();
        for (k, v) in [
            ("blackbox.io/snaplen", "lots"),
            ("blackbox.io/snaplen", "0"),
            ("blackbox.io/record", "maybe"),
            ("blackbox.io/ring-buffer-bytes", "5000"),
            ("blackbox.io/recrod", "false"),
        ] {
            let a = HashMap::from([(k.to_string(), v.to_string())]);
            let e = ContainerPolicy::from_annotations(&node, &a).expect_err("bad");
            assert_eq!(e.key, k);
        }
    }
}
