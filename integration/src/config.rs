//! The private containerd's config.toml and blackbox's runtime options file.

use std::path::Path;

use crate::image::PAUSE_REF;

/// Paths of one private containerd instance, all under its run directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: std::path::PathBuf,
    pub root: std::path::PathBuf,
    pub state: std::path::PathBuf,
    pub address: std::path::PathBuf,
    pub ttrpc_address: std::path::PathBuf,
    pub config: std::path::PathBuf,
    pub blackbox_runtime_config: std::path::PathBuf,
    /// blackbox's node config for this run (`BLACKBOX_CONFIG` in containerd's
    /// environment, inherited by the shims): work dir and bpffs pins of its own.
    pub blackbox_node_config: std::path::PathBuf,
    /// Where the run's shims write their captures.
    pub blackbox_work: std::path::PathBuf,
    /// Where the run's shims seal their archives.
    pub blackbox_archives: std::path::PathBuf,
    /// The run's own node signing key (created by the first shim that seals).
    pub blackbox_node_key: std::path::PathBuf,
    /// The run's node alert log (every shim appends Falco JSON alerts).
    pub blackbox_alert_log: std::path::PathBuf,
    /// The run's own eBPF pin root, never a real install's.
    pub bpf_pin_root: std::path::PathBuf,
    /// runc's `--root` for every runtime, so nothing lands in /run/containerd/runc.
    pub runc_root: std::path::PathBuf,
    pub fifo_dir: std::path::PathBuf,
    pub cni_conf_dir: std::path::PathBuf,
    pub pod_logs: std::path::PathBuf,
    pub log: std::path::PathBuf,
    pub pid_file: std::path::PathBuf,
}

impl Layout {
    #[must_use]
    pub fn new(dir: &Path) -> Self {
        let state = dir.join("state");
        Layout {
            dir: dir.to_path_buf(),
            root: dir.join("root"),
            address: dir.join("containerd.sock"),
            ttrpc_address: dir.join("containerd.sock.ttrpc"),
            config: dir.join("config.toml"),
            blackbox_runtime_config: dir.join("blackbox-runtime.toml"),
            blackbox_node_config: dir.join("blackbox-config.toml"),
            blackbox_work: dir.join("blackbox-work"),
            blackbox_archives: dir.join("blackbox-archives"),
            blackbox_node_key: dir.join("blackbox-node.key"),
            blackbox_alert_log: dir.join("blackbox-log").join("alerts.jsonl"),
            bpf_pin_root: Path::new("/sys/fs/bpf").join(format!(
                "blackbox-it-{}",
                dir.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )),
            runc_root: state.join("runc"),
            fifo_dir: state.join("fifo"),
            state,
            cni_conf_dir: dir.join("cni/net.d"),
            pod_logs: dir.join("pod-logs"),
            log: dir.join("containerd.log"),
            pid_file: dir.join("containerd.pid"),
        }
    }

    /// The bundle directory the v2 runtime creates for a task.
    #[must_use]
    pub fn bundle(&self, namespace: &str, id: &str) -> std::path::PathBuf {
        self.state
            .join("io.containerd.runtime.v2.task")
            .join(namespace)
            .join(id)
    }
}

/// blackbox's node config for a private run: everything under the run's own dirs.
#[must_use]
pub fn blackbox_node_toml(layout: &Layout, webhook_url: &str) -> String {
    let rules: Vec<String> = RULES_FILES
        .iter()
        .map(|f| format!("\"{}\"", rules_file(f).display()))
        .collect();
    format!(
        "[recording]\nwork_dir = \"{}\"\nbpf_pin_root = \"{}\"\n\
         [archive]\narchives_dir = \"{}\"\nnode_key = \"{}\"\n\
         # The test machines' disks may be nearly full: copy file contents regardless.\n\
         min_free_bytes = 0\n\
         # The whole upstream library, and every matching rule alerts, so that each action\n\
         # of the event-generator table is seen to fire its own rule.\n\
         [rules]\nfiles = [{}]\nall_matches = true\n\
         [alerts]\nlog_path = \"{}\"\nwebhook_url = \"{webhook_url}\"\n",
        layout.blackbox_work.display(),
        layout.bpf_pin_root.display(),
        layout.blackbox_archives.display(),
        layout.blackbox_node_key.display(),
        rules.join(", "),
        layout.blackbox_alert_log.display(),
    )
}

/// The upstream rules files the run's shims load, in Falco's order.
pub const RULES_FILES: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

/// An upstream rules file of the corpus (next to the checkout: `../shared/corpus`).
#[must_use]
pub fn rules_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/falco-rules")
        .join(name)
}

/// containerd 1.6 config (version 2) for a private instance with handlers `runc` and `blackbox`.
#[must_use]
pub fn containerd_toml(layout: &Layout, cni_bin_dir: &Path, runc: &Path) -> String {
    let cri = r#"plugins."io.containerd.grpc.v1.cri""#;
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
oom_score = 0
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{address}"

[ttrpc]
  address = "{ttrpc}"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{dir}/opt"

[{cri}]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_tls_streaming = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  pod_annotations = ["blackbox.io/*"]

[{cri}.containerd.runtimes.runc.options]
  BinaryName = "{runc}"
  Root = "{runc_root}"
  SystemdCgroup = false

[{cri}.containerd.runtimes.blackbox]
  runtime_type = "io.containerd.blackbox.v2"
  pod_annotations = ["blackbox.io/*"]

[{cri}.containerd.runtimes.blackbox.options]
  ConfigPath = "{blackbox_cfg}"

[{cri}.cni]
  bin_dir = "{cni_bin}"
  conf_dir = "{cni_conf}"
"#,
        root = layout.root.display(),
        state = layout.state.display(),
        address = layout.address.display(),
        ttrpc = layout.ttrpc_address.display(),
        dir = layout.dir.display(),
        pause = PAUSE_REF,
        runc = runc.display(),
        runc_root = layout.runc_root.display(),
        blackbox_cfg = layout.blackbox_runtime_config.display(),
        cni_bin = cni_bin_dir.display(),
        cni_conf = layout.cni_conf_dir.display(),
    )
}

/// Blackbox's runc-style options, read from the handler's `ConfigPath`.
#[must_use]
pub fn blackbox_runtime_toml(layout: &Layout, runc: &Path) -> String {
    format!(
        "BinaryName = \"{}\"\nRoot = \"{}\"\nSystemdCgroup = false\n",
        runc.display(),
        layout.runc_root.display()
    )
}
