//! Container attribution: the container JSON event payload (type 324) and the cgroup naming
//! rules sysdig uses to derive `container.id` from a thread's cgroups (spec section 7).

use std::collections::BTreeMap;

use serde::Serialize;

/// `sinsp_container_type` values for the JSON `type` field.
pub mod container_type {
    /// docker
    pub const DOCKER: u32 = 0;
    /// cri
    pub const CRI: u32 = 6;
    /// containerd
    pub const CONTAINERD: u32 = 7;
    /// cri-o
    pub const CRIO: u32 = 8;
}

/// Container metadata for a `PPME_CONTAINER_JSON_2_E` event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The 64-hex-character container id. Attribution needs it in the cgroup paths too.
    pub full_id: String,
    /// `container.name`.
    pub name: String,
    /// `container.image` (`docker.io/library/nginx:1.21`).
    pub image: String,
    /// Image id (digest without repository), optional.
    pub image_id: String,
    /// `container_type` value; [`container_type::CONTAINERD`] for our shim.
    pub container_type: u32,
    /// Privileged container.
    pub privileged: bool,
    /// This entry is a Kubernetes pod sandbox (its labels become `k8s.pod.label.*`).
    pub is_pod_sandbox: bool,
    /// Unix seconds.
    pub created_time: i64,
    /// Labels. Kubernetes ones (`io.kubernetes.pod.name`, …) fill `k8s.*` fields.
    pub labels: BTreeMap<String, String>,
}

/// The container id does not have the form sysdig can attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("container id {0:?} is not 64 lowercase hex characters; sysdig cannot attribute threads to it (use the sha256 of the real id)")]
pub struct BadContainerId(pub String);

#[derive(Serialize)]
struct Wrapper<'a> {
    container: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    id: &'a str,
    full_id: &'a str,
    #[serde(rename = "type")]
    container_type: u32,
    name: &'a str,
    image: &'a str,
    imageid: &'a str,
    imagerepo: &'a str,
    imagetag: &'a str,
    privileged: bool,
    is_pod_sandbox: bool,
    lookup_state: u32,
    created_time: i64,
    labels: &'a BTreeMap<String, String>,
}

impl ContainerInfo {
    /// The short id (first 12 hex characters): the join key with cgroup-derived ids.
    pub fn short_id(&self) -> &str {
        self.full_id.get(..12).unwrap_or(&self.full_id)
    }

    /// The JSON payload sysdig 0.29.3 parses (`{"container":{…}}`, `lookup_state` 1).
    pub fn to_json(&self) -> Result<String, BadContainerId> {
        if !is_full_id(&self.full_id) {
            return Err(BadContainerId(self.full_id.clone()));
        }
        let (repo, tag) = split_image(&self.image);
        let w = Wrapper {
            container: Inner {
                id: self.short_id(),
                full_id: &self.full_id,
                container_type: self.container_type,
                name: &self.name,
                image: &self.image,
                imageid: &self.image_id,
                imagerepo: repo,
                imagetag: tag,
                privileged: self.privileged,
                is_pod_sandbox: self.is_pod_sandbox,
                lookup_state: 1,
                created_time: self.created_time,
                labels: &self.labels,
            },
        };
        // Serialising plain strings, numbers and a string map cannot fail.
        Ok(serde_json::to_string(&w).unwrap_or_default())
    }
}

fn split_image(image: &str) -> (&str, &str) {
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rfind(':') {
        Some(i) => {
            let cut = image.len() - last.len() + i;
            (&image[..cut], &image[cut + 1..])
        }
        None => (image, ""),
    }
}

/// Whether `id` is 64 lowercase hex characters.
pub fn is_full_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The cgroup subsystems written for a containerised task.
const SUBSYSTEMS: [&str; 10] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "blkio",
    "perf_event",
    "pids",
];

/// Cgroup entries (`subsys=/path`) for a task living in cgroup `path`, one per common v1
/// subsystem, for the `cgroups` field of process-list entries and clone/execve exits.
pub fn cgroup_entries(path: &str) -> Vec<String> {
    SUBSYSTEMS.iter().map(|s| format!("{s}={path}")).collect()
}

/// A cgroup path in the containerd/CRI systemd style, `…/cri-containerd-<id>.scope`, which
/// sysdig attributes to the container with that id.
pub fn containerd_cgroup_path(parent: &str, full_id: &str) -> Result<String, BadContainerId> {
    if !is_full_id(full_id) {
        return Err(BadContainerId(full_id.to_string()));
    }
    Ok(format!(
        "{}/cri-containerd-{full_id}.scope",
        parent.trim_end_matches('/')
    ))
}

/// The 12-character container id sysdig derives from cgroup entries, or `None` (host).
///
/// A path matches when it ends in one of the docker or cri patterns of spec section 7.1:
/// `/<id>`, `/docker-<id>.scope`, `/crio-<id>`, `/cri-containerd-<id>.scope`,
/// `/crio-<id>.scope` or `:cri-containerd:<id>`, with `<id>` 64 hex characters.
pub fn container_id_from_cgroups<S: AsRef<str>>(cgroups: &[S]) -> Option<String> {
    const PATTERNS: [(&str, &str); 6] = [
        ("/", ""),
        ("/docker-", ".scope"),
        ("/crio-", ""),
        ("/cri-containerd-", ".scope"),
        ("/crio-", ".scope"),
        (":cri-containerd:", ""),
    ];
    for entry in cgroups {
        let entry = entry.as_ref();
        let path = entry.split_once('=').map_or(entry, |(_, p)| p);
        for (prefix, suffix) in PATTERNS {
            let Some(rest) = path.strip_suffix(suffix) else {
                continue;
            };
            if rest.len() < 64 + prefix.len() {
                continue;
            }
            let (head, id) = rest.split_at(rest.len() - 64);
            if head.ends_with(prefix) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(id[..12].to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    #[test]
    fn cgroup_patterns_resolve_like_sysdig() {
        let path = containerd_cgroup_path("/kubepods.slice/kubepods-pod1.slice", ID).expect("id");
        assert_eq!(
            container_id_from_cgroups(&cgroup_entries(&path)).as_deref(),
            Some("a1b2c3d4e5f6")
        );
        for p in [
            format!("cpu=/default/{ID}"),
            format!("cpuset=/system.slice/containerd.service/kubepods-x:cri-containerd:{ID}"),
            format!("cpu=/docker-{ID}.scope"),
        ] {
            assert_eq!(
                container_id_from_cgroups(&[p]).as_deref(),
                Some("a1b2c3d4e5f6")
            );
        }
        assert_eq!(
            container_id_from_cgroups(&["cpu=/user.slice/x.scope"]),
            None
        );
        assert_eq!(container_id_from_cgroups(&["cpu=/default/abc"]), None);
    }

    #[test]
    fn json_has_the_join_key_and_rejects_short_ids() {
        let c = ContainerInfo {
            full_id: ID.into(),
            name: "nginx".into(),
            image: "docker.io/library/nginx:1.21".into(),
            container_type: container_type::CONTAINERD,
            ..ContainerInfo::default()
        };
        let json = c.to_json().expect("valid id");
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid json");
        assert_eq!(v["container"]["id"], "a1b2c3d4e5f6");
        assert_eq!(v["container"]["imagerepo"], "docker.io/library/nginx");
        assert_eq!(v["container"]["imagetag"], "1.21");
        assert_eq!(v["container"]["lookup_state"], 1);
        let bad = ContainerInfo {
            full_id: "myname".into(),
            ..c
        };
        assert!(bad.to_json().is_err());
    }
}
