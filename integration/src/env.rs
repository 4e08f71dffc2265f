//! The environment one test run shares: the private containerd, the images, and a lock that
//! lets tests which stop containerd or count its resources run alone.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::containerd::Containerd;
use crate::ctr::Ctr;
use crate::host;
use crate::image::{self, Images};
use crate::runtime::{self, Runtime};

/// The namespace CRI works in.
pub const CRI_NAMESPACE: &str = "k8s.io";

pub struct Env {
    pub containerd: Containerd,
    pub images: Images,
    /// Random token of this run (the run directory's suffix); namespaces and cgroups carry it,
    /// so that concurrent runs on one machine never touch each other's resources.
    pub token: String,
    gate: RwLock<()>,
}

impl Env {
    /// Checks prerequisites, starts the private containerd and imports the images.
    pub fn setup() -> Result<Env> {
        let started = Instant::now();
        let tools = crate::prereq::check()?;
        let containerd = Containerd::start(tools, runtime::shim_dir())?;
        let token = containerd
            .layout
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("bbit-"))
            .unwrap_or("run")
            .to_string();
        let images_dir = containerd.layout.dir.join("images");
        std::fs::create_dir_all(&images_dir)?;
        let images = image::build_all(&images_dir, &containerd.tools.busybox)?;
        let cri = Ctr::admin(&containerd).in_namespace(CRI_NAMESPACE);
        cri.import(&images.pause)
            .context("importing the pause image into k8s.io")?;
        cri.import(&images.busybox)
            .context("importing the busybox image into k8s.io")?;
        containerd.track_cgroup(format!("/bbit-{token}"));
        eprintln!(
            "private containerd {} (pid {:?}) ready in {:.1?}; shim dir {}",
            containerd.layout.dir.display(),
            containerd.pid(),
            started.elapsed(),
            containerd.shim_dir.display()
        );
        if let Some(warning) = runtime::stale_shim_warning() {
            eprintln!("{warning}");
        }
        Ok(Env {
            containerd,
            images,
            token,
            gate: RwLock::new(()),
        })
    }

    /// Held by ordinary tests: many may run at once.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Held by tests that restart containerd or count its processes, fds and files.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh namespace for one test under one runtime, with busybox imported. Fails clearly
    /// when the runtime's shim is missing.
    pub fn namespace(&self, test: &str, runtime: Runtime) -> Result<TestNamespace<'_>> {
        runtime::require(runtime)?;
        let name = format!("bbit-{}-{}-{}", self.token, test.replace('_', "-"), runtime);
        let ns = TestNamespace { env: self, name };
        self.containerd.track_cgroup(format!("/{}", ns.name));
        ns.ctr()
            .import(&self.images.busybox)
            .context("importing busybox")?;
        Ok(ns)
    }

    /// Cgroup parent for CRI pods of this run (kubelet's `/kubepods/...` stand-in).
    #[must_use]
    pub fn cri_cgroup_parent(&self, pod_uid: &str) -> String {
        format!("/bbit-{}/pod{pod_uid}", self.token)
    }
}

/// A containerd namespace that is emptied and removed when dropped, even after a panic.
pub struct TestNamespace<'a> {
    pub env: &'a Env,
    pub name: String,
}

impl TestNamespace<'_> {
    #[must_use]
    pub fn ctr(&self) -> Ctr<'_> {
        Ctr::admin(&self.env.containerd).in_namespace(&self.name)
    }

    /// Cgroup path containerd gives a ctr container by default.
    #[must_use]
    pub fn cgroup_of(&self, id: &str) -> String {
        format!("/{}/{id}", self.name)
    }
}

impl Drop for TestNamespace<'_> {
    fn drop(&mut self) {
        self.ctr().remove_everything();
        host::remove_cgroup_tree(&format!("/{}", self.name));
        // Only a shim that ignores the configured runc root writes here; tests report it,
        // teardown just removes the (empty) directory.
        let _ = std::fs::remove_dir(std::path::Path::new("/run/containerd/runc").join(&self.name));
    }
}
