//! A pod's life through CRI as kubelet drives it: sandbox, containers, exit codes, logs,
//! stop/remove, the pod annotations blackbox reads, and a resource update.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use blackbox_integration::cri::{Pod, TEST_ANNOTATION};
use blackbox_integration::env::CRI_NAMESPACE;
use blackbox_integration::{host, Env, Runtime};
use k8s_cri::v1 as cri;

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("cri", "pod_lifecycle", pod_lifecycle),
        Case::new("cri", "pod_annotations", pod_annotations),
        Case::new("cri", "update_resources", update_resources),
    ]
}

/// A container that exits by itself on SIGTERM, so StopContainer is quick.
const SERVER: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

/// The OCI spec the runtime got for a CRI container or sandbox.
pub fn bundle_spec(env: &Env, id: &str) -> Result<serde_json::Value> {
    let path = env
        .containerd
        .layout
        .bundle(CRI_NAMESPACE, id)
        .join("config.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn pod_lifecycle(env: &Env, rt: Runtime) -> Result<()> {
    let mut pod = Pod::start(env, "lifecycle", rt)?;
    let once = pod.start_container(
        "once",
        &["sh", "-c", "echo out-line; echo err-line >&2; exit 7"],
    )?;
    let status = pod.cri.wait_exited(&once, Duration::from_secs(20))?;
    ensure!(
        status.exit_code == 7,
        "exit code {} (reason {})",
        status.exit_code,
        status.reason
    );
    ensure!(
        status.reason == "Error",
        "reason {:?} for a non-zero exit",
        status.reason
    );
    let log = pod.log_directory().join("once/0.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    ensure!(
        text.lines().any(|l| l.ends_with(" stdout F out-line"))
            && text.lines().any(|l| l.ends_with(" stderr F err-line")),
        "CRI log {} holds {text:?}",
        log.display()
    );
    pod.cri.stop_and_remove_container(&once)?;

    let server = pod.start_container("server", SERVER)?;
    let s = pod.cri.container_status(&server)?;
    ensure!(
        s.state == cri::ContainerState::ContainerRunning as i32,
        "server state {}",
        s.state
    );
    let pid_before_stop = std::time::Instant::now();
    pod.cri.stop_and_remove_container(&server)?;
    ensure!(
        pid_before_stop.elapsed() < Duration::from_secs(8),
        "StopContainer took {:?}: SIGTERM did not reach the container",
        pid_before_stop.elapsed()
    );
    let sandbox = pod.id.clone();
    pod.remove()?;
    let left: Vec<_> = host::shims_of(&env.containerd.layout.address)
        .into_iter()
        .filter(|p| p.flag("-id") == Some(sandbox.as_str()))
        .collect();
    ensure!(
        left.is_empty(),
        "shim still running after RemovePodSandbox: {left:?}"
    );
    ensure!(
        !env.containerd
            .layout
            .bundle(CRI_NAMESPACE, &sandbox)
            .exists(),
        "the sandbox bundle is still there"
    );
    Ok(())
}

fn pod_annotations(env: &Env, rt: Runtime) -> Result<()> {
    let mut pod = Pod::start(env, "annotated", rt)?;
    let id = pod.start_container("app", SERVER)?;
    for (what, which) in [("sandbox", pod.id.clone()), ("container", id.clone())] {
        let spec = bundle_spec(env, &which)?;
        let value = &spec["annotations"][TEST_ANNOTATION];
        ensure!(
            value == "pod-annotated",
            "{what} {which}: annotation {TEST_ANNOTATION} is {value}, annotations: {}",
            spec["annotations"]
        );
    }
    let spec = bundle_spec(env, &id)?;
    ensure!(
        spec["annotations"]["io.kubernetes.cri.sandbox-id"] == pod.id.as_str(),
        "container spec does not name its sandbox: {}",
        spec["annotations"]
    );
    pod.cri.stop_and_remove_container(&id)?;
    pod.remove()
}

fn update_resources(env: &Env, rt: Runtime) -> Result<()> {
    let mut pod = Pod::start(env, "updated", rt)?;
    let id = pod.start_container("app", SERVER)?;
    let spec = bundle_spec(env, &id)?;
    let cgroup = spec["linux"]["cgroupsPath"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let limit_file = if Path::new("/sys/fs/cgroup/cgroup.controllers").is_file() {
        Path::new("/sys/fs/cgroup")
            .join(cgroup.trim_start_matches('/'))
            .join("memory.max")
    } else {
        Path::new("/sys/fs/cgroup/memory")
            .join(cgroup.trim_start_matches('/'))
            .join("memory.limit_in_bytes")
    };
    let read = || {
        std::fs::read_to_string(&limit_file)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    ensure!(
        read() == "134217728",
        "initial limit in {}: {:?}",
        limit_file.display(),
        read()
    );
    let mut rs = pod.cri.rs();
    let f = rs.update_container_resources(cri::UpdateContainerResourcesRequest {
        container_id: id.clone(),
        linux: Some(cri::LinuxContainerResources {
            cpu_period: 100_000,
            cpu_quota: 50_000,
            cpu_shares: 512,
            memory_limit_in_bytes: 64 * 1024 * 1024,
            ..Default::default()
        }),
        ..Default::default()
    });
    pod.cri.call("UpdateContainerResources", f)?;
    ensure!(
        read() == "67108864",
        "limit after update in {}: {:?}",
        limit_file.display(),
        read()
    );
    let s = pod.cri.container_status(&id)?;
    ensure!(
        s.state == cri::ContainerState::ContainerRunning as i32,
        "state {} after update",
        s.state
    );
    pod.cri.stop_and_remove_container(&id)?;
    pod.remove()
}
