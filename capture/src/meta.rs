//! What the shim knows about the container, and how it becomes the capture's container JSON
//! event and the cgroup strings sysdig derives `container.id` from.

use std::collections::BTreeMap;

use blackbox_scap::container::{
    cgroup_entries, container_id_from_cgroups, container_type, is_full_id,
};
use blackbox_scap::ContainerInfo;
use sha2::{Digest, Sha256};

/// The container a capture belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureMeta {
    /// containerd container id (64-hex for CRI; any string for ctr).
    pub container_id: String,
    /// CRI container name or the id.
    pub container_name: String,
    /// Image reference if known, else "".
    pub image: String,
    /// OCI annotations / CRI labels (k8s pod name/namespace/uid come from
    /// `io.kubernetes.cri.*` / `io.kubernetes.pod.*` annotations).
    pub labels: BTreeMap<String, String>,
    /// Node name.
    pub hostname: String,
    /// Host pid of the container's init (still in `runc init` when the capture starts).
    pub init_pid: i32,
    /// The container's cgroup path as in /proc/<pid>/cgroup (e.g. "/k8s.io/<id>").
    pub cgroup_path: String,
}

/// Label carrying the real container id when it is not 64 hex characters.
pub const ORIGINAL_ID_LABEL: &str = "io.blackbox.container.id";

/// CRI annotations and the labels sysdig reads the same facts from.
const CRI_TO_POD_LABELS: [(&str, &str); 4] = [
    ("io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"),
    (
        "io.kubernetes.cri.sandbox-namespace",
        "io.kubernetes.pod.namespace",
    ),
    ("io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"),
    ("io.kubernetes.cri.sandbox-id", "io.kubernetes.sandbox.id"),
];

/// What the capture says about the container, derived once from [`CaptureMeta`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerIdentity {
    /// The 64-hex id written to the JSON event and the cgroup strings: the container id itself,
    /// or the sha256 of it when it is not 64 lowercase hex characters.
    pub full_id: String,
    /// The cgroup path written for the container's tasks; it always ends in `/<full_id>` so
    /// that sysdig attributes them.
    pub cgroup_path: String,
    /// `subsys=path` entries for process-list entries and clone/execve exits.
    pub cgroups: Vec<String>,
    /// The container JSON event's content.
    pub info: ContainerInfo,
}

impl ContainerIdentity {
    /// Derives the capture's view of the container. `created_time` is Unix seconds.
    pub fn from_meta(meta: &CaptureMeta, created_time: i64) -> Self {
        let full_id = full_id_of(&meta.container_id);
        let cgroup_path = attributable_cgroup_path(&meta.cgroup_path, &full_id);
        let cgroups = cgroup_entries(&cgroup_path);

        let mut labels = meta.labels.clone();
        for (cri, pod) in CRI_TO_POD_LABELS {
            if let Some(v) = meta.labels.get(cri) {
                labels.entry(pod.to_string()).or_insert_with(|| v.clone());
            }
        }
        if full_id != meta.container_id {
            labels.insert(ORIGINAL_ID_LABEL.to_string(), meta.container_id.clone());
        }
        let image = if meta.image.is_empty() {
            meta.labels
                .get("io.kubernetes.cri.image-name")
                .cloned()
                .unwrap_or_default()
        } else {
            meta.image.clone()
        };
        let name = if meta.container_name.is_empty() {
            meta.container_id.clone()
        } else {
            meta.container_name.clone()
        };
        let is_pod_sandbox = meta
            .labels
            .get("io.kubernetes.cri.container-type")
            .is_some_and(|t| t == "sandbox");
        let info = ContainerInfo {
            full_id: full_id.clone(),
            name,
            image,
            container_type: container_type::CONTAINERD,
            is_pod_sandbox,
            created_time,
            labels,
            ..ContainerInfo::default()
        };
        Self {
            full_id,
            cgroup_path,
            cgroups,
            info,
        }
    }
}

/// The id itself if it is 64 lowercase hex characters, else the hex sha256 of it.
pub fn full_id_of(container_id: &str) -> String {
    if is_full_id(container_id) {
        return container_id.to_string();
    }
    Sha256::digest(container_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `path` when sysdig already derives `full_id` from it; otherwise `path` with its last
/// component replaced by `full_id` (or `/blackbox/<full_id>` when `path` is empty).
fn attributable_cgroup_path(path: &str, full_id: &str) -> String {
    let path = path.trim_end_matches('/');
    if container_id_from_cgroups(&[path]).as_deref() == full_id.get(..12) {
        return path.to_string();
    }
    match path.rsplit_once('/') {
        Some((parent, _)) if !path.is_empty() => format!("{parent}/{full_id}"),
        _ => format!("/blackbox/{full_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn hex_ids_and_their_cgroups_are_kept() {
        let meta = CaptureMeta {
            container_id: ID.into(),
            cgroup_path: format!("/k8s.io/{ID}"),
            ..CaptureMeta::default()
        };
        let c = ContainerIdentity::from_meta(&meta, 0);
        assert_eq!(c.full_id, ID);
        assert_eq!(c.cgroup_path, format!("/k8s.io/{ID}"));
        assert_eq!(c.info.name, ID, "name defaults to the id");
        assert_eq!(
            container_id_from_cgroups(&c.cgroups).as_deref(),
            Some("0123456789ab")
        );
    }

    #[test]
    fn other_ids_get_a_sha256_and_a_synthetic_cgroup() {
        let meta = CaptureMeta {
            container_id: "web".into(),
            container_name: "web".into(),
            cgroup_path: "/default/web".into(),
            ..CaptureMeta::default()
        };
        let c = ContainerIdentity::from_meta(&meta, 0);
        assert_eq!(
            c.full_id, "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2",
            "sha256 of \"web\""
        );
        assert!(is_full_id(&c.full_id));
        assert_eq!(c.cgroup_path, format!("/default/{}", c.full_id));
        assert_eq!(c.info.labels[ORIGINAL_ID_LABEL], "web");
        assert_eq!(
            container_id_from_cgroups(&c.cgroups).as_deref(),
            c.full_id.get(..12)
        );
        let empty = CaptureMeta {
            container_id: "x".into(),
            ..CaptureMeta::default()
        };
        let c = ContainerIdentity::from_meta(&empty, 0);
        assert_eq!(c.cgroup_path, format!("/blackbox/{}", c.full_id));
    }

    #[test]
    fn cri_annotations_become_pod_labels() {
        let mut labels = BTreeMap::new();
        labels.insert("io.kubernetes.cri.sandbox-name".into(), "web-0".into());
        labels.insert("io.kubernetes.cri.sandbox-namespace".into(), "shop".into());
        labels.insert("io.kubernetes.cri.image-name".into(), "nginx:1".into());
        let meta = CaptureMeta {
            container_id: ID.into(),
            labels,
            ..CaptureMeta::default()
        };
        let c = ContainerIdentity::from_meta(&meta, 0);
        assert_eq!(c.info.labels["io.kubernetes.pod.name"], "web-0");
        assert_eq!(c.info.labels["io.kubernetes.pod.namespace"], "shop");
        assert_eq!(c.info.image, "nginx:1");
        assert!(!c.info.is_pod_sandbox);
    }
}
