//! A CRI client that talks to the private containerd exactly as kubelet does (CRI v1 over the
//! gRPC unix socket), with pod and container configs shaped like kubelet's.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_cri::v1 as cri;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

use crate::env::Env;
use crate::image::BUSYBOX_REF;
use crate::runtime::Runtime;

/// Kubelet's default masked and read-only paths for non-privileged containers.
const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];
const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The annotation set on test pods that `pod_annotations = ["blackbox.io/*"]` must pass on.
pub const TEST_ANNOTATION: &str = "blackbox.io/test";

pub struct Cri {
    rt: tokio::runtime::Runtime,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
}

impl Cri {
    pub fn connect(address: &Path) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let channel = rt.block_on(crate::grpc::connect_unix(address))?;
        Ok(Cri {
            rt,
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
        })
    }

    /// A handle on the runtime service (cheap: clients share one connection).
    #[must_use]
    pub fn rs(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    /// A handle on the image service.
    #[must_use]
    pub fn is(&self) -> ImageServiceClient<Channel> {
        self.images.clone()
    }

    /// Runs one CRI call to completion, with a deadline.
    pub fn call<T, F: Future<Output = Result<tonic::Response<T>, tonic::Status>>>(
        &self,
        what: &str,
        f: F,
    ) -> Result<T> {
        self.rt.block_on(async {
            match tokio::time::timeout(Duration::from_secs(60), f).await {
                Ok(Ok(resp)) => Ok(resp.into_inner()),
                Ok(Err(status)) => Err(anyhow::anyhow!(
                    "CRI {what}: {:?}: {}",
                    status.code(),
                    status.message()
                )),
                Err(_) => Err(anyhow::anyhow!("CRI {what}: no answer within 60 s")),
            }
        })
    }

    pub fn version(&mut self) -> Result<cri::VersionResponse> {
        let mut rs = self.rs();
        let f = rs.version(cri::VersionRequest {
            version: "v1".into(),
        });
        self.call("Version", f)
    }

    /// RunPodSandbox with `runtime`'s handler; returns the sandbox id.
    pub fn run_pod(&mut self, config: &cri::PodSandboxConfig, runtime: Runtime) -> Result<String> {
        let mut rs = self.rs();
        let f = rs.run_pod_sandbox(cri::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: runtime.cri_handler().into(),
        });
        Ok(self.call("RunPodSandbox", f)?.pod_sandbox_id)
    }

    /// CreateContainer + StartContainer; returns the container id.
    pub fn create_and_start(
        &mut self,
        pod_id: &str,
        pod: &cri::PodSandboxConfig,
        config: cri::ContainerConfig,
    ) -> Result<String> {
        let mut rs = self.rs();
        let f = rs.create_container(cri::CreateContainerRequest {
            pod_sandbox_id: pod_id.into(),
            config: Some(config),
            sandbox_config: Some(pod.clone()),
        });
        let id = self.call("CreateContainer", f)?.container_id;
        let mut rs = self.rs();
        let f = rs.start_container(cri::StartContainerRequest {
            container_id: id.clone(),
        });
        self.call("StartContainer", f)?;
        Ok(id)
    }

    pub fn container_status(&mut self, id: &str) -> Result<cri::ContainerStatus> {
        let mut rs = self.rs();
        let f = rs.container_status(cri::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        });
        self.call("ContainerStatus", f)?
            .status
            .context("ContainerStatus without a status")
    }

    /// Polls ContainerStatus until the container has exited; returns the final status.
    pub fn wait_exited(&mut self, id: &str, timeout: Duration) -> Result<cri::ContainerStatus> {
        crate::cmd::wait_for(&format!("container {id} to exit"), timeout, || {
            let s = self.container_status(id)?;
            Ok((s.state == cri::ContainerState::ContainerExited as i32).then_some(s))
        })
    }

    pub fn exec_sync(&mut self, id: &str, cmd: &[&str]) -> Result<cri::ExecSyncResponse> {
        let mut rs = self.rs();
        let f = rs.exec_sync(cri::ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| (*s).to_string()).collect(),
            timeout: 30,
        });
        self.call("ExecSync", f)
    }

    /// Stops and removes the container (as kubelet does when a pod is deleted).
    pub fn stop_and_remove_container(&mut self, id: &str) -> Result<()> {
        let mut rs = self.rs();
        let f = rs.stop_container(cri::StopContainerRequest {
            container_id: id.into(),
            timeout: 10,
        });
        self.call("StopContainer", f)?;
        let mut rs = self.rs();
        let f = rs.remove_container(cri::RemoveContainerRequest {
            container_id: id.into(),
        });
        self.call("RemoveContainer", f)?;
        Ok(())
    }

    /// StopPodSandbox + RemovePodSandbox.
    pub fn stop_and_remove_pod(&mut self, pod_id: &str) -> Result<()> {
        let mut rs = self.rs();
        let f = rs.stop_pod_sandbox(cri::StopPodSandboxRequest {
            pod_sandbox_id: pod_id.into(),
        });
        self.call("StopPodSandbox", f)?;
        let mut rs = self.rs();
        let f = rs.remove_pod_sandbox(cri::RemovePodSandboxRequest {
            pod_sandbox_id: pod_id.into(),
        });
        self.call("RemovePodSandbox", f)?;
        Ok(())
    }
}

/// A host-network pod config as kubelet builds it (cgroupfs driver, no CNI needed).
#[must_use]
pub fn pod_config(env: &Env, name: &str, runtime: Runtime) -> cri::PodSandboxConfig {
    let uid = format!("{}-{name}-{}", env.token, runtime).to_lowercase();
    let log_directory = env
        .containerd
        .layout
        .pod_logs
        .join(format!("default_{name}_{uid}"));
    let _ = std::fs::create_dir_all(&log_directory);
    let labels = HashMap::from([
        ("io.kubernetes.pod.name".to_string(), name.to_string()),
        (
            "io.kubernetes.pod.namespace".to_string(),
            "default".to_string(),
        ),
        ("io.kubernetes.pod.uid".to_string(), uid.clone()),
    ]);
    let annotations = HashMap::from([
        ("kubernetes.io/config.source".to_string(), "api".to_string()),
        (TEST_ANNOTATION.to_string(), format!("pod-{name}")),
    ]);
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: name.into(),
            uid: uid.clone(),
            namespace: "default".into(),
            attempt: 0,
        }),
        // Host-network pods share the node's UTS namespace: no hostname of their own.
        hostname: String::new(),
        log_directory: log_directory.display().to_string(),
        labels,
        annotations,
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: env.cri_cgroup_parent(&uid),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(cri::NamespaceOption {
                    network: cri::NamespaceMode::Node as i32,
                    pid: cri::NamespaceMode::Container as i32,
                    ipc: cri::NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                seccomp: Some(cri::SecurityProfile {
                    profile_type: cri::security_profile::ProfileType::RuntimeDefault as i32,
                    localhost_ref: String::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A busybox container config as kubelet builds it, running `argv`.
#[must_use]
pub fn container_config(name: &str, argv: &[&str]) -> cri::ContainerConfig {
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(cri::ImageSpec {
            image: BUSYBOX_REF.into(),
            ..Default::default()
        }),
        command: argv.iter().map(|s| (*s).to_string()).collect(),
        working_dir: "/".into(),
        envs: vec![cri::KeyValue {
            key: "BLACKBOX_TEST".into(),
            value: name.into(),
        }],
        labels: HashMap::from([("io.kubernetes.container.name".to_string(), name.to_string())]),
        annotations: HashMap::from([(
            "io.kubernetes.container.restartCount".to_string(),
            "0".to_string(),
        )]),
        log_path: format!("{name}/0.log"),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(cri::LinuxContainerResources {
                cpu_period: 100_000,
                cpu_quota: 50_000,
                cpu_shares: 512,
                memory_limit_in_bytes: 128 * 1024 * 1024,
                oom_score_adj: 1000,
                ..Default::default()
            }),
            security_context: Some(cri::LinuxContainerSecurityContext {
                namespace_options: Some(cri::NamespaceOption {
                    network: cri::NamespaceMode::Node as i32,
                    pid: cri::NamespaceMode::Container as i32,
                    ipc: cri::NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                masked_paths: MASKED_PATHS.iter().map(|s| (*s).to_string()).collect(),
                readonly_paths: READONLY_PATHS.iter().map(|s| (*s).to_string()).collect(),
                seccomp: Some(cri::SecurityProfile {
                    profile_type: cri::security_profile::ProfileType::RuntimeDefault as i32,
                    localhost_ref: String::new(),
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

/// A running CRI pod with its client; stopped and removed on drop, even after a failure.
pub struct Pod {
    pub cri: Cri,
    pub id: String,
    pub config: cri::PodSandboxConfig,
    removed: bool,
}

impl Pod {
    /// Connects, checks Version, and runs a host-network pod under `runtime`'s handler.
    pub fn start(env: &Env, name: &str, runtime: Runtime) -> Result<Pod> {
        crate::runtime::require(runtime)?;
        let mut cri = Cri::connect(&env.containerd.layout.address)?;
        let version = cri.version()?;
        anyhow::ensure!(
            version.runtime_name == "containerd" && version.runtime_api_version == "v1",
            "unexpected CRI version answer: {version:?}"
        );
        let config = pod_config(env, name, runtime);
        let id = cri.run_pod(&config, runtime)?;
        Ok(Pod {
            cri,
            id,
            config,
            removed: false,
        })
    }

    /// CreateContainer + StartContainer of a busybox container in this pod.
    pub fn start_container(&mut self, name: &str, argv: &[&str]) -> Result<String> {
        let config = container_config(name, argv);
        self.cri.create_and_start(&self.id, &self.config, config)
    }

    /// The directory holding the pod's container logs.
    #[must_use]
    pub fn log_directory(&self) -> &Path {
        Path::new(&self.config.log_directory)
    }

    /// StopPodSandbox + RemovePodSandbox, reporting errors.
    pub fn remove(mut self) -> Result<()> {
        self.removed = true;
        let id = self.id.clone();
        self.cri.stop_and_remove_pod(&id)
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        if !self.removed {
            let id = self.id.clone();
            if let Err(e) = self.cri.stop_and_remove_pod(&id) {
                eprintln!("cleanup of pod {id}: {e:#}");
            }
        }
    }
}
