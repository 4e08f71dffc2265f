//! A pod costs one shim process, whatever its number of containers.

use anyhow::{ensure, Result};
use blackbox_integration::cri::Pod;
use blackbox_integration::env::CRI_NAMESPACE;
use blackbox_integration::{host, Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![Case::new("cri", "one_shim_per_pod", one_shim_per_pod)]
}

const SERVER: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

fn one_shim_per_pod(env: &Env, rt: Runtime) -> Result<()> {
    let mut pod = Pod::start(env, "threeapps", rt)?;
    let mut ids = vec![pod.id.clone()];
    for name in ["one", "two", "three"] {
        ids.push(pod.start_container(name, SERVER)?);
    }
    let layout = &env.containerd.layout;
    let shims: Vec<_> = host::shims_of(&layout.address)
        .into_iter()
        .filter(|p| p.program() == rt.shim_binary())
        .filter(|p| p.flag("-id").is_some_and(|id| ids.iter().any(|i| i == id)))
        .collect();
    ensure!(
        shims.len() == 1,
        "{} {} processes serve the pod's sandbox and 3 containers: {shims:?}",
        shims.len(),
        rt.shim_binary()
    );
    let addresses: Vec<String> = ids
        .iter()
        .map(|id| {
            std::fs::read_to_string(layout.bundle(CRI_NAMESPACE, id).join("address"))
                .unwrap_or_default()
        })
        .collect();
    ensure!(
        !addresses[0].is_empty() && addresses.iter().all(|a| *a == addresses[0]),
        "the pod's tasks do not share one shim address: {addresses:?}"
    );
    for id in &ids[1..] {
        pod.cri.stop_and_remove_container(id)?;
    }
    pod.remove()
}
