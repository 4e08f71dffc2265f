//! The `start` action: start (or find) the shim server and print its address.
//!
//! Written here rather than taken from `containerd_shim::spawn`, which reads
//! the options on stdin as runc's `Options` message only, and so fails on
//! the `runtimeoptions.v1.Options` the CRI plugin sends a non-runc runtime.

use std::{
    io::Read,
    path::Path,
    process::{Command, Stdio},
};

use containerd_shim::{socket_address, StartOpts};
use log::warn;

use crate::{
    container::load_spec,
    errors::{other, Result},
    options,
};

/// Annotations that put containers in one shim: a Kubernetes pod's
/// containers share their sandbox's shim, as with runc's shim.
const GROUP_ANNOTATIONS: [&str; 3] = [
    "io.kubernetes.cri.sandbox-id",
    "io.containerd.blackbox.v2.group",
    "io.containerd.runc.v2.group",
];

fn grouping_id(bundle: &Path, id: &str) -> String {
    let Ok(spec) = load_spec(bundle) else {
        return id.to_string();
    };
    spec.annotations()
        .as_ref()
        .and_then(|a| GROUP_ANNOTATIONS.iter().find_map(|k| a.get(*k)))
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

/// The shim cgroup from the options on stdin; a bad options file is
/// reported by Create, where containerd shows it to the user.
fn shim_cgroup_from_stdin() -> Option<String> {
    let mut data = Vec::new();
    std::io::stdin().read_to_end(&mut data).ok()?;
    if data.is_empty() {
        return None;
    }
    use containerd_shim::protos::protobuf::{well_known_types::any::Any, Message};
    let any = Any::parse_from_bytes(&data).ok()?;
    let options = options::decode(Some(&any)).ok()?;
    Some(options.shim_cgroup).filter(|c| !c.is_empty())
}

pub fn start(opts: &StartOpts) -> Result<String> {
    let cwd = std::env::current_dir().map_err(|e| other(format!("current dir: {e}")))?;
    let grouping = grouping_id(&cwd, &opts.id);
    let address = socket_address(&opts.address, &opts.namespace, &grouping);
    let exe = std::env::current_exe().map_err(|e| other(format!("current exe: {e}")))?;
    let mut command = Command::new(exe);
    command
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .args([
            "-namespace",
            &opts.namespace,
            "-id",
            &opts.id,
            "-address",
            &opts.address,
            "-socket",
            &address,
        ]);
    if opts.debug {
        command.arg("-debug");
    }
    let mut child = command
        .spawn()
        .map_err(|e| other(format!("spawn shim server: {e}")))?;
    let pid = child.id();
    if let Some(cgroup) = shim_cgroup_from_stdin() {
        if let Err(e) = containerd_shim::cgroup::add_task_to_cgroup(&cgroup, pid) {
            warn!("move shim {pid} to cgroup {cgroup}: {e}");
        }
    }
    if let Err(e) = containerd_shim::cgroup::adjust_oom_score(pid) {
        warn!("adjust OOM score of shim {pid}: {e}");
    }
    // The server closes its stdout once it listens (or once it found a
    // running shim of the same group on the address).
    let mut sink = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut sink);
    }
    std::fs::write(cwd.join("address"), &address)
        .map_err(|e| other(format!("write address file: {e}")))?;
    // The server keeps running; the grouped variant has exited already.
    if let Ok(Some(status)) = child.try_wait() {
        if !status.success() {
            return Err(other(format!("shim server exited with {status}")));
        }
    }
    Ok(address)
}
