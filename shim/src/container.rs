//! One container: its bundle, its runc handle, its init and exec processes.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use blackbox_config::RuntimeOptions;
use containerd_shim::{
    api::{CreateTaskRequest, Status},
    mount::umount_recursive,
    util::{mkdir, mount_rootfs},
};
use log::{debug, info, warn};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use oci_spec_runc::runtime::{LinuxResources, Process as OciProcess};
use runc::{
    options::{CreateOpts, DeleteOpts, ExecOpts, KillOpts},
    Runc,
};

use crate::{
    console::{self, ConsoleSocket},
    errors::{
        already_exists, classify_kill_error, invalid, not_found, other, precondition, Result,
    },
    io::{self, ShimIo, Stdio},
    process::Process,
    runc_exec::{new_runc, runtime_error},
};

/// The pid file runc writes for the init process, in the bundle.
pub const INIT_PID_FILE: &str = "init.pid";
/// Where the shim keeps a container's options for its `delete` action.
pub const OPTIONS_FILE: &str = "blackbox-options.json";

pub struct Container {
    pub id: String,
    pub namespace: String,
    pub bundle: PathBuf,
    pub runc: Runc,
    pub options: RuntimeOptions,
    pub init: Process,
    pub execs: HashMap<String, Process>,
    /// Without a private pid namespace, runc's shim kills every process of
    /// the container when its init exits; so do we.
    pub kill_all_on_exit: bool,
    pub rootfs_mounted: bool,
    /// The OCI spec's annotations (pod metadata, `blackbox.io/*` policy).
    pub annotations: std::collections::HashMap<String, String>,
    /// The container's flight recording, when it is recorded.
    pub recording: Option<crate::recording::ContainerRecording>,
    /// Its memory cgroup's OOM watch (TaskOOM, and the archive's OOM flag).
    pub oom: Option<crate::oom::OomWatch>,
}

/// Reads and checks the bundle's config.json before anything is done with it.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path)
        .map_err(|e| invalid(format!("cannot read bundle {}: {e}", path.display())))?;
    serde_json::from_slice::<Spec>(&text)
        .map_err(|e| invalid(format!("invalid OCI spec {}: {e}", path.display())))
}

fn has_private_pid_namespace(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|nss| {
            nss.iter()
                .any(|ns| ns.typ() == LinuxNamespaceType::Pid && ns.path().is_none())
        })
}

async fn read_pid(path: &Path) -> Result<i32> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| other(format!("read pid file {}: {e}", path.display())))?;
    text.trim()
        .parse()
        .map_err(|e| other(format!("pid file {}: {e}", path.display())))
}

impl Container {
    /// Creates the container of `req` from its bundle's `spec` (as [`load_spec`] read
    /// it): mounts the rootfs and runs `runc create`. On failure everything done so far
    /// is undone, so a refused Create leaves nothing behind.
    pub async fn create(
        namespace: &str,
        req: &CreateTaskRequest,
        options: RuntimeOptions,
        spec: Spec,
    ) -> Result<Self> {
        let bundle = PathBuf::from(&req.bundle);
        if req.id.is_empty() || req.id.contains('/') {
            return Err(invalid(format!("invalid container id {:?}", req.id)));
        }
        let options_json = serde_json::to_vec(&options)
            .map_err(|e| other(format!("encode runtime options: {e}")))?;
        tokio::fs::write(bundle.join(OPTIONS_FILE), options_json)
            .await
            .map_err(|e| {
                other(format!(
                    "write {}: {e}",
                    bundle.join(OPTIONS_FILE).display()
                ))
            })?;
        let runc = new_runc(&options, namespace, &bundle)?;
        let stdio = Stdio {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let mut container = Container {
            id: req.id.clone(),
            namespace: namespace.to_string(),
            bundle: bundle.clone(),
            runc,
            kill_all_on_exit: !has_private_pid_namespace(&spec),
            init: Process::new(&req.id, stdio),
            execs: HashMap::new(),
            options,
            rootfs_mounted: false,
            annotations: spec.annotations().clone().unwrap_or_default(),
            recording: None,
            oom: None,
        };
        if let Err(e) = container.create_init(req).await {
            container.undo_create().await;
            return Err(e);
        }
        Ok(container)
    }

    async fn create_init(&mut self, req: &CreateTaskRequest) -> Result<()> {
        if !req.rootfs.is_empty() {
            let rootfs = self.bundle.join("rootfs");
            mkdir(&rootfs, 0o711).await?;
            self.rootfs_mounted = true;
            for m in &req.rootfs {
                mount_rootfs(m, &rootfs)
                    .await
                    .map_err(|e| other(format!("mount rootfs ({}): {e}", m.type_)))?;
            }
        }
        let pid_file = self.bundle.join(INIT_PID_FILE);
        let mut opts = CreateOpts::new()
            .pid_file(&pid_file)
            .no_pivot(self.options.no_pivot_root)
            .no_new_keyring(self.options.no_new_keyring)
            .detach(false);
        let stdio = self.init.stdio.clone();
        let (console_socket, shim_io) = if stdio.terminal {
            let socket = ConsoleSocket::new()?;
            opts = opts.console_socket(&socket.path);
            (Some(socket), None)
        } else {
            let shim_io = Arc::new(ShimIo::new(
                &stdio,
                self.options.io_uid,
                self.options.io_gid,
            )?);
            opts = opts.io(shim_io.clone());
            (None, Some(shim_io))
        };
        if let Err(e) = self.runc.create(&self.id, &self.bundle, Some(&opts)).await {
            if let Some(socket) = console_socket {
                socket.remove();
            }
            return Err(runtime_error(&self.bundle, e, "OCI runtime create failed").await);
        }
        if let Some(socket) = console_socket {
            let master = socket.receive_master().await?;
            self.init.copiers = console::start_copying(&master, &stdio).await?;
            self.init.console = Some(master);
        } else if let Some(shim_io) = shim_io {
            self.init.copiers =
                io::start_copying(&shim_io, &stdio, &self.id, &self.namespace).await?;
        }
        self.init.pid = read_pid(&pid_file).await?;
        Ok(())
    }

    /// Removes a container whose Create is refused after `runc create`
    /// succeeded (fail-closed recording).
    pub async fn abort_create(&mut self) {
        self.undo_create().await;
    }

    /// Undoes a failed create: runc's state and the rootfs mount. The
    /// options file stays: containerd runs our `delete` action next, which
    /// needs it to find runc's root, and removes the bundle afterwards.
    async fn undo_create(&mut self) {
        let _ = self
            .runc
            .delete(&self.id, Some(&DeleteOpts::new().force(true)))
            .await;
        self.unmount_rootfs();
    }

    fn unmount_rootfs(&mut self) {
        if !self.rootfs_mounted {
            return;
        }
        let rootfs = self.bundle.join("rootfs");
        match umount_recursive(rootfs.to_str(), 0) {
            Ok(()) => self.rootfs_mounted = false,
            Err(e) => warn!(container = self.id.as_str(); "unmount {}: {e}", rootfs.display()),
        }
    }

    pub fn process(&self, exec_id: &str) -> Result<&Process> {
        if exec_id.is_empty() {
            return Ok(&self.init);
        }
        self.execs
            .get(exec_id)
            .ok_or_else(|| not_found(format!("exec {exec_id} not found in container {}", self.id)))
    }

    pub fn process_mut(&mut self, exec_id: &str) -> Result<&mut Process> {
        if exec_id.is_empty() {
            return Ok(&mut self.init);
        }
        let id = self.id.clone();
        self.execs
            .get_mut(exec_id)
            .ok_or_else(|| not_found(format!("exec {exec_id} not found in container {id}")))
    }

    pub async fn start_init(&mut self) -> Result<i32> {
        if self.init.status != Status::CREATED {
            return Err(precondition(format!(
                "container {} cannot be started in state {:?}",
                self.id, self.init.status
            )));
        }
        if let Err(e) = self.runc.start(&self.id).await {
            return Err(runtime_error(&self.bundle, e, "OCI runtime start failed").await);
        }
        self.init.status = Status::RUNNING;
        info!(container = self.id.as_str(); "started, pid {}", self.init.pid);
        Ok(self.init.pid)
    }

    pub fn add_exec(&mut self, exec_id: &str, stdio: Stdio, spec: OciProcess) -> Result<()> {
        if exec_id.is_empty() {
            return Err(invalid("exec id must not be empty"));
        }
        if self.execs.contains_key(exec_id) {
            return Err(already_exists(format!("exec {exec_id} already exists")));
        }
        if self.init.status == Status::STOPPED {
            return Err(precondition(format!("container {} is stopped", self.id)));
        }
        let mut p = Process::new(exec_id, stdio);
        p.spec = Some(spec);
        self.execs.insert(exec_id.to_string(), p);
        Ok(())
    }

    pub async fn start_exec(&mut self, exec_id: &str) -> Result<i32> {
        let bundle = self.bundle.clone();
        let (uid, gid) = (self.options.io_uid, self.options.io_gid);
        let container_id = self.id.clone();
        let namespace = self.namespace.clone();
        let p = self.process_mut(exec_id)?;
        if p.status != Status::CREATED {
            return Err(precondition(format!(
                "exec {exec_id} cannot be started in state {:?}",
                p.status
            )));
        }
        let spec = p
            .spec
            .clone()
            .ok_or_else(|| invalid(format!("exec {exec_id} has no process spec")))?;
        let pid_file = bundle.join(format!("{exec_id}.pid"));
        let mut opts = ExecOpts::new().pid_file(&pid_file).detach(true);
        let stdio = p.stdio.clone();
        let (console_socket, shim_io) = if stdio.terminal {
            let socket = ConsoleSocket::new()?;
            opts = opts.console_socket(&socket.path);
            (Some(socket), None)
        } else {
            let shim_io = Arc::new(ShimIo::new(&stdio, uid, gid)?);
            opts = opts.io(shim_io.clone());
            (None, Some(shim_io))
        };
        if let Err(e) = self.runc.exec(&container_id, &spec, Some(&opts)).await {
            if let Some(socket) = console_socket {
                socket.remove();
            }
            return Err(runtime_error(&bundle, e, "OCI runtime exec failed").await);
        }
        let p = self.process_mut(exec_id)?;
        if let Some(socket) = console_socket {
            let master = socket.receive_master().await?;
            p.copiers = console::start_copying(&master, &stdio).await?;
            p.console = Some(master);
        } else if let Some(shim_io) = shim_io {
            p.copiers = io::start_copying(&shim_io, &stdio, &container_id, &namespace).await?;
        }
        p.pid = read_pid(&pid_file).await?;
        p.status = Status::RUNNING;
        let _ = tokio::fs::remove_file(&pid_file).await;
        Ok(p.pid)
    }

    pub async fn kill(&mut self, exec_id: &str, signal: u32, all: bool) -> Result<()> {
        if exec_id.is_empty() {
            if self.init.status == Status::STOPPED && !all {
                return Err(not_found("process already finished"));
            }
            return self
                .runc
                .kill(&self.id, signal, Some(&KillOpts::new().all(all)))
                .await
                .map_err(|e| classify_kill_error(&e.to_string()));
        }
        let p = self.process(exec_id)?;
        if p.pid <= 0 {
            return Err(precondition(format!("exec {exec_id} is not started")));
        }
        if p.exit.is_some() {
            return Err(not_found("process already finished"));
        }
        let sig = i32::try_from(signal)
            .ok()
            .and_then(|s| nix::sys::signal::Signal::try_from(s).ok())
            .ok_or_else(|| invalid(format!("invalid signal {signal}")))?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid), sig).map_err(|e| {
            if e == nix::errno::Errno::ESRCH {
                not_found("process already finished")
            } else {
                other(format!("kill exec {exec_id}: {e}"))
            }
        })
    }

    /// Deletes the init process: runc's state, the rootfs mount. Returns the recording, if
    /// any, with how the container ended: the caller stops it (last drain, seal) once it no
    /// longer holds the task lock, before answering Delete (the upper dir is still there).
    pub async fn delete_init(
        &mut self,
    ) -> Result<
        Option<(
            crate::recording::ContainerRecording,
            crate::recording::ExitFacts,
        )>,
    > {
        if matches!(self.init.status, Status::RUNNING | Status::PAUSED) {
            return Err(precondition(format!(
                "cannot delete container {}: it is still running",
                self.id
            )));
        }
        self.init.drain_output().await;
        // Facts first: the memory cgroup goes away with `runc delete`.
        let recording = self.recording.take().map(|recording| {
            let status = self.init.exit_status();
            let facts = crate::recording::ExitFacts {
                exit_status: status,
                signal: (status > 128 && status < 128 + 65).then(|| (status - 128) as i32),
                exited_at: self
                    .init
                    .exit
                    .as_ref()
                    .map(|e| std::time::SystemTime::from(e.at)),
                oom_killed: self
                    .oom
                    .as_ref()
                    .is_some_and(|w| crate::oom::oom_killed(&w.cgroup)),
            };
            (recording, facts)
        });
        if let Err(e) = self
            .runc
            .delete(&self.id, Some(&DeleteOpts::new().force(true)))
            .await
        {
            let text = e.to_string().to_lowercase();
            if !text.contains("does not exist") && !text.contains("not found") {
                // Delete can be retried: the recording goes on until it succeeds.
                self.recording = recording.map(|(r, _)| r);
                return Err(runtime_error(&self.bundle, e, "OCI runtime delete failed").await);
            }
        }
        self.unmount_rootfs();
        if self.rootfs_mounted {
            self.recording = recording.map(|(r, _)| r);
            return Err(other(format!(
                "container {}: rootfs is still mounted",
                self.id
            )));
        }
        Ok(recording)
    }

    pub async fn pause(&mut self) -> Result<()> {
        if self.init.status != Status::RUNNING {
            return Err(precondition(format!(
                "cannot pause container {} in state {:?}",
                self.id, self.init.status
            )));
        }
        self.init.status = Status::PAUSING;
        if let Err(e) = self.runc.pause(&self.id).await {
            self.init.status = Status::RUNNING;
            return Err(runtime_error(&self.bundle, e, "OCI runtime pause failed").await);
        }
        self.init.status = Status::PAUSED;
        Ok(())
    }

    pub async fn resume(&mut self) -> Result<()> {
        if self.init.status != Status::PAUSED {
            return Err(precondition(format!(
                "cannot resume container {} in state {:?}",
                self.id, self.init.status
            )));
        }
        if let Err(e) = self.runc.resume(&self.id).await {
            return Err(runtime_error(&self.bundle, e, "OCI runtime resume failed").await);
        }
        self.init.status = Status::RUNNING;
        Ok(())
    }

    pub async fn pids(&self) -> Result<Vec<usize>> {
        self.runc
            .ps(&self.id)
            .await
            .map_err(|e| other(format!("runc ps {}: {e}", self.id)))
    }

    pub async fn update(&self, resources: &LinuxResources) -> Result<()> {
        if self.init.pid <= 0 || self.init.status == Status::STOPPED {
            return Err(precondition(format!(
                "cannot update container {}: it is not running",
                self.id
            )));
        }
        if let Err(e) = self.runc.update(&self.id, resources).await {
            return Err(runtime_error(&self.bundle, e, "OCI runtime update failed").await);
        }
        Ok(())
    }
}

/// Forcibly removes what a dead shim left of a container: the `delete` action.
pub async fn cleanup_after_dead_shim(namespace: &str, id: &str, bundle: &Path) -> Result<i32> {
    let pid = read_pid(&bundle.join(INIT_PID_FILE)).await.unwrap_or(0);
    // The options file is written before runc is first run: without it runc
    // never ran for this container, and running `runc delete` with a guessed
    // root would only create runc's state directory where none belongs.
    match tokio::fs::read(bundle.join(OPTIONS_FILE)).await {
        Ok(bytes) => {
            let options: RuntimeOptions = serde_json::from_slice(&bytes).unwrap_or_default();
            if options.runc_root(namespace).join(id).exists() {
                match new_runc(&options, namespace, bundle) {
                    Ok(runc) => {
                        if let Err(e) = runc.delete(id, Some(&DeleteOpts::new().force(true))).await
                        {
                            warn!(container = id; "runc delete after dead shim: {e}");
                        }
                    }
                    Err(e) => warn!(container = id; "{e}"),
                }
            }
        }
        Err(e) => debug!(container = id; "no runtime options in the bundle ({e}): runc never ran"),
    }
    if let Err(e) = umount_recursive(bundle.join("rootfs").to_str(), 0) {
        warn!(container = id; "unmount rootfs after dead shim: {e}");
    }
    Ok(pid)
}
