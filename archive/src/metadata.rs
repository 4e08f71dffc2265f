//! `metadata.json` and `execs.jsonl` records: what is known about the container, written early
//! into the working directory and completed as facts arrive (start, exit, seal).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the `metadata.json` layout (fields are only ever added).
pub const METADATA_FORMAT: u32 = 1;

/// Who the container is; what the shim knows at create time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerIdentity {
    /// containerd's container id.
    pub id: String,
    /// containerd's namespace (`k8s.io` for CRI pods, `default` for `ctr` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd_namespace: Option<String>,
    /// Container name (`io.kubernetes.container.name` / `io.kubernetes.cri.container-name`).
    pub name: Option<String>,
    /// Image reference.
    pub image: Option<String>,
    /// Image digest (`sha256:…`).
    pub image_digest: Option<String>,
    /// Pod name.
    pub pod_name: Option<String>,
    /// Pod namespace.
    pub pod_namespace: Option<String>,
    /// Pod uid.
    pub pod_uid: Option<String>,
    /// Container labels.
    pub labels: BTreeMap<String, String>,
    /// OCI spec annotations.
    pub annotations: BTreeMap<String, String>,
    /// SHA-256 (hex) of the bundle's `config.json`.
    pub oci_spec_sha256: Option<String>,
    /// Node name.
    pub node_name: Option<String>,
}

/// How a container's main process ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// Exit code when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Signal number when it was killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// How an archive came to be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealState {
    /// Sealed by the shim when the container was deleted.
    Sealed,
    /// Sealed by `recover` after the shim that owned the working directory died.
    Recovered,
}

impl SealState {
    /// `sealed` or `recovered`.
    pub fn as_str(self) -> &'static str {
        match self {
            SealState::Sealed => "sealed",
            SealState::Recovered => "recovered",
        }
    }
}

/// The overlay directories of the container's root file system (recorded early so that a
/// recovery can still compute the file-system diff).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayDirs {
    /// The upper (writable) directory.
    pub upper: String,
    /// Lower directories, top first.
    #[serde(default)]
    pub lower: Vec<String>,
}

/// Facts about the seal, filled in by [`crate::seal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealInfo {
    /// `sealed` or `recovered`.
    pub state: SealState,
    /// When the archive was sealed.
    pub sealed_at: String,
    /// Capture segments that went into `capture.scap`, in order.
    #[serde(default)]
    pub capture_segments: Vec<String>,
    /// Bytes of `capture.scap`.
    pub capture_bytes: u64,
    /// Bytes cut from the end of damaged capture segments (kept in `capture.tail`).
    #[serde(default)]
    pub capture_trimmed_bytes: u64,
    /// Entries in `fsdiff.jsonl`.
    pub fsdiff_entries: u64,
    /// File contents copied under `fs/`, in bytes.
    pub fsdiff_copied_bytes: u64,
}

/// Everything known about one recorded container: `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`METADATA_FORMAT`].
    pub format: u32,
    /// containerd's container id.
    pub container_id: String,
    /// containerd's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containerd_namespace: Option<String>,
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Pod name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// Pod namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_namespace: Option<String>,
    /// Pod uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    /// Container labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// OCI annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// SHA-256 (hex) of the OCI spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_spec_sha256: Option<String>,
    /// When the working directory was created (RFC 3339, ns).
    pub created_at: String,
    /// When the container's init started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited_at: Option<String>,
    /// How it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitStatus>,
    /// The kernel's OOM killer struck the container.
    #[serde(default)]
    pub oom_killed: bool,
    /// Loss and drop counters (name → count), e.g. `ringbuf_full`, `pre_exec_dropped`.
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
    /// Node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Version of the blackbox that wrote this.
    pub blackbox_version: String,
    /// Root file system overlay directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<OverlayDirs>,
    /// Things an investigator should know: disk full, limits hit, recovery details.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Set when sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealInfo>,
}

impl Metadata {
    /// Metadata for a container just created.
    pub fn new(identity: &ContainerIdentity, created_at: String) -> Self {
        Self {
            format: METADATA_FORMAT,
            container_id: identity.id.clone(),
            containerd_namespace: identity.containerd_namespace.clone(),
            container_name: identity.name.clone().or_else(|| {
                first_of(
                    identity,
                    &[
                        "io.kubernetes.container.name",
                        "io.kubernetes.cri.container-name",
                    ],
                )
            }),
            image: identity
                .image
                .clone()
                .or_else(|| first_of(identity, &["io.kubernetes.cri.image-name"])),
            image_digest: identity.image_digest.clone(),
            pod_name: identity.pod_name.clone().or_else(|| {
                first_of(
                    identity,
                    &["io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name"],
                )
            }),
            pod_namespace: identity.pod_namespace.clone().or_else(|| {
                first_of(
                    identity,
                    &[
                        "io.kubernetes.pod.namespace",
                        "io.kubernetes.cri.sandbox-namespace",
                    ],
                )
            }),
            pod_uid: identity.pod_uid.clone().or_else(|| {
                first_of(
                    identity,
                    &["io.kubernetes.pod.uid", "io.kubernetes.cri.sandbox-uid"],
                )
            }),
            labels: identity.labels.clone(),
            annotations: identity.annotations.clone(),
            oci_spec_sha256: identity.oci_spec_sha256.clone(),
            created_at,
            started_at: None,
            exited_at: None,
            exit: None,
            oom_killed: false,
            drops: BTreeMap::new(),
            node_name: identity.node_name.clone(),
            blackbox_version: env!("CARGO_PKG_VERSION").to_owned(),
            overlay: None,
            notes: Vec::new(),
            seal: None,
        }
    }

    /// The time the archive name uses: start, else creation.
    pub fn start_or_created(&self) -> &str {
        self.started_at.as_deref().unwrap_or(&self.created_at)
    }
}

/// A label, else an annotation, of the first key that has one.
fn first_of(identity: &ContainerIdentity, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        identity
            .labels
            .get(*k)
            .or_else(|| identity.annotations.get(*k))
            .filter(|v| !v.is_empty())
            .cloned()
    })
}

/// One exec session (`kubectl exec`, `ctr task exec`): a line of `execs.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRecord {
    /// containerd's exec id.
    pub exec_id: String,
    /// The command line.
    pub argv: Vec<String>,
    /// A terminal was attached.
    pub tty: bool,
    /// When it started (RFC 3339, ns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Exit code (128 + signal for a signalled process, as containerd reports it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Pids of the exec's process (and any children the shim learned about).
    #[serde(default)]
    pub pids: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_falls_back_to_cri_annotations() {
        let mut id = ContainerIdentity {
            id: "abc".into(),
            ..ContainerIdentity::default()
        };
        id.annotations
            .insert("io.kubernetes.cri.sandbox-namespace".into(), "prod".into());
        id.annotations
            .insert("io.kubernetes.cri.sandbox-name".into(), "web-1".into());
        id.labels
            .insert("io.kubernetes.container.name".into(), "nginx".into());
        let m = Metadata::new(&id, "2024-01-01T00:00:00.000000000Z".into());
        assert_eq!(m.pod_namespace.as_deref(), Some("prod"));
        assert_eq!(m.pod_name.as_deref(), Some("web-1"));
        assert_eq!(m.container_name.as_deref(), Some("nginx"));
        let json = serde_json::to_string(&m).unwrap_or_default();
        let back: Metadata = serde_json::from_str(&json).unwrap_or_else(|_| m.clone());
        assert_eq!(back, m);
        assert_eq!(m.start_or_created(), "2024-01-01T00:00:00.000000000Z");
    }
}
