//! The task API containerd drives: one service for every container of the shim.

use std::path::Path;
use std::time::Duration;
use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use containerd_shim::{
    api::{
        CloseIORequest, ConnectRequest, ConnectResponse, CreateTaskRequest, CreateTaskResponse,
        DeleteRequest, Empty, ExecProcessRequest, KillRequest, PauseRequest, PidsRequest,
        PidsResponse, ResizePtyRequest, ResumeRequest, ShutdownRequest, StartRequest,
        StartResponse, StateRequest, StateResponse, StatsRequest, StatsResponse, UpdateTaskRequest,
        WaitRequest, WaitResponse,
    },
    asynchronous::ExitSignal,
    protos::{
        api::{CheckpointTaskRequest, DeleteResponse, ProcessInfo},
        events::task::{
            TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskIO, TaskPaused,
            TaskResumed, TaskStart,
        },
        protobuf::{well_known_types::any::Any, Message, MessageField},
        shim::oci::ProcessDetails,
        shim_async::Task,
        ttrpc::{self, r#async::TtrpcContext},
    },
    util::convert_to_any,
    Error,
};
use log::{debug, info, warn};
use tokio::sync::{mpsc, Mutex};

use crate::{
    console,
    container::Container,
    errors::{invalid, not_found, other, to_ttrpc, Result},
    events::EventSender,
    io::Stdio,
    oom, options,
    process::wait_exit,
    recording::{ContainerInfo, NotRecording, PreparedRecording, RecordingService},
};

pub type Containers = Arc<Mutex<HashMap<String, Container>>>;

pub struct TaskService {
    pub namespace: String,
    pub containers: Containers,
    pub events: EventSender,
    pub exit: Arc<ExitSignal>,
    pub oom_tx: mpsc::UnboundedSender<String>,
    pub recording: Arc<RecordingService>,
}

fn container<'a>(containers: &'a HashMap<String, Container>, id: &str) -> Result<&'a Container> {
    containers
        .get(id)
        .ok_or_else(|| not_found(format!("container {id} not found")))
}

fn container_mut<'a>(
    containers: &'a mut HashMap<String, Container>,
    id: &str,
) -> Result<&'a mut Container> {
    containers
        .get_mut(id)
        .ok_or_else(|| not_found(format!("container {id} not found")))
}

/// The upper and lower directories of an overlay rootfs mount (what the container changed
/// lives in the upper one).
fn overlay_of(
    mounts: &[containerd_shim::protos::types::mount::Mount],
) -> Option<blackbox_archive::OverlayDirs> {
    let m = mounts.iter().find(|m| m.type_ == "overlay")?;
    let opt = |key: &str| {
        m.options
            .iter()
            .find_map(|o| o.strip_prefix(key).map(str::to_string))
    };
    Some(blackbox_archive::OverlayDirs {
        upper: opt("upperdir=")?,
        lower: opt("lowerdir=")
            .map(|l| l.split(':').map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

/// An exec session for the archive's `execs.jsonl`: at its start, then (`ended`) complete.
fn exec_record(
    exec_id: &str,
    p: &crate::process::Process,
    spec: &oci_spec_runc::runtime::Process,
    ended: bool,
) -> blackbox_archive::ExecRecord {
    use blackbox_archive::timefmt::{format_rfc3339, now_rfc3339};
    blackbox_archive::ExecRecord {
        exec_id: exec_id.to_string(),
        argv: spec.args().clone().unwrap_or_default(),
        tty: spec.terminal().unwrap_or(false),
        // The recording fills in the start time of an ended session from its first line.
        started_at: (!ended).then(now_rfc3339),
        ended_at: ended.then(|| {
            p.exit.as_ref().map_or_else(now_rfc3339, |e| {
                format_rfc3339(std::time::SystemTime::from(e.at))
            })
        }),
        exit_code: ended
            .then(|| p.exit.as_ref().and_then(|e| i32::try_from(e.status).ok()))
            .flatten(),
        pids: u32::try_from(p.pid).into_iter().collect(),
    }
}

fn ttrpc_result<T>(r: Result<T>) -> ttrpc::Result<T> {
    r.map_err(to_ttrpc)
}

impl TaskService {
    async fn do_create(&self, req: CreateTaskRequest) -> Result<CreateTaskResponse> {
        let options = options::decode(req.options.as_ref())?;
        let mut containers = self.containers.lock().await;
        if containers.contains_key(&req.id) {
            return Err(crate::errors::already_exists(format!(
                "container {} already exists",
                req.id
            )));
        }
        let spec = crate::container::load_spec(Path::new(&req.bundle))?;
        // The recording's ring is prepared while runc creates the container: putting it
        // into the recorder's maps waits for an RCU grace period, which this hides.
        let prepare = {
            let recording = Arc::clone(&self.recording);
            let id = req.id.clone();
            let annotations = spec.annotations().clone().unwrap_or_default();
            tokio::task::spawn_blocking(move || recording.prepare(&id, &annotations))
        };
        let created = Container::create(&self.namespace, &req, options, spec).await;
        let prepared = prepare.await.map_err(|e| NotRecording {
            reason: format!("prepare the recording: {e}"),
            fail_closed: false,
        });
        let mut container = match created {
            Ok(c) => c,
            Err(e) => {
                // The prepared ring leaves the maps before Create fails: nothing is left.
                let _ = tokio::task::spawn_blocking(move || drop(prepared)).await;
                return Err(e);
            }
        };
        let prepared = prepared.and_then(|p| p);
        let pid = container.init.pid;
        self.start_recording(&mut container, overlay_of(&req.rootfs), prepared)
            .await?;
        if let Some(cgroup) = oom::memory_cgroup(pid) {
            match oom::OomWatch::start(cgroup.clone(), req.id.clone(), self.oom_tx.clone()) {
                Ok(watch) => container.oom = Some(watch),
                Err(e) => {
                    warn!(container = req.id.as_str(); "cannot watch {cgroup:?} for OOM kills: {e}")
                }
            }
        } else {
            warn!(container = req.id.as_str(); "no memory cgroup found, OOM kills will not be reported");
        }
        containers.insert(req.id.clone(), container);
        info!(container = req.id.as_str(); "created, init pid {pid}");
        self.events.publish(TaskCreate {
            container_id: req.id.clone(),
            bundle: req.bundle.clone(),
            rootfs: req.rootfs.clone(),
            io: MessageField::some(TaskIO {
                stdin: req.stdin.clone(),
                stdout: req.stdout.clone(),
                stderr: req.stderr.clone(),
                terminal: req.terminal,
                ..Default::default()
            }),
            checkpoint: req.checkpoint.clone(),
            pid: u32::try_from(pid).unwrap_or_default(),
            ..Default::default()
        });
        Ok(CreateTaskResponse {
            pid: u32::try_from(pid).unwrap_or_default(),
            ..Default::default()
        })
    }

    /// Arms the recorder between `runc create` and `runc start`, so the
    /// container's first instruction is already recorded.
    async fn start_recording(
        &self,
        container: &mut Container,
        overlay: Option<blackbox_archive::OverlayDirs>,
        prepared: std::result::Result<Option<PreparedRecording>, NotRecording>,
    ) -> Result<()> {
        let info = ContainerInfo {
            namespace: self.namespace.clone(),
            id: container.id.clone(),
            bundle: container.bundle.clone(),
            init_pid: container.init.pid,
            annotations: container.annotations.clone(),
            overlay,
        };
        let recording = Arc::clone(&self.recording);
        // Opening the recorder may load and pin the eBPF programs: blocking work.
        let started = tokio::task::spawn_blocking(move || recording.start(&info, prepared))
            .await
            .map_err(|e| other(format!("start recording: {e}")))?;
        match started {
            Ok(r) => container.recording = r,
            Err(not) if not.fail_closed => {
                container.abort_create().await;
                return Err(crate::errors::precondition(format!(
                    "container {} refused: recording could not start and the policy is fail-closed: {}",
                    container.id, not.reason
                )));
            }
            Err(not) => {
                warn!(container = container.id.as_str(); "running unrecorded: {}", not.reason);
            }
        }
        Ok(())
    }

    async fn do_start(&self, req: StartRequest) -> Result<StartResponse> {
        let mut containers = self.containers.lock().await;
        let c = container_mut(&mut containers, &req.id)?;
        let pid = if req.exec_id.is_empty() {
            let pid = c.start_init().await?;
            self.events.publish(TaskStart {
                container_id: req.id.clone(),
                pid: u32::try_from(pid).unwrap_or_default(),
                ..Default::default()
            });
            pid
        } else {
            let pid = c.start_exec(&req.exec_id).await?;
            if let Some(recording) = c.recording.as_ref() {
                let p = c.process(&req.exec_id)?;
                if let Some(spec) = p.spec.as_ref() {
                    recording.record_exec(&req.id, &exec_record(&req.exec_id, p, spec, false));
                }
            }
            self.events.publish(TaskExecStarted {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                pid: u32::try_from(pid).unwrap_or_default(),
                ..Default::default()
            });
            pid
        };
        Ok(StartResponse {
            pid: u32::try_from(pid).unwrap_or_default(),
            ..Default::default()
        })
    }

    async fn do_delete(&self, req: DeleteRequest) -> Result<DeleteResponse> {
        let mut containers = self.containers.lock().await;
        let c = container_mut(&mut containers, &req.id)?;
        let (pid, status, exited_at) = if req.exec_id.is_empty() {
            let recording = c.delete_init().await?;
            let p = &c.init;
            let r = (p.pid, p.exit_status(), p.exited_at());
            containers.remove(&req.id);
            // The last drain and the seal run without the task lock (the pod's other
            // containers are served meanwhile), but before the answer: containerd may
            // remove the snapshot, and with it the upper dir, right after.
            drop(containers);
            if let Some((mut recording, facts)) = recording {
                recording.stop(&req.id, facts).await;
            }
            r
        } else {
            let p = c.process_mut(&req.exec_id)?;
            if p.status == containerd_shim::api::Status::RUNNING {
                return Err(crate::errors::precondition(format!(
                    "cannot delete exec {}: it is still running",
                    req.exec_id
                )));
            }
            p.drain_output().await;
            let r = (p.pid, p.exit_status(), p.exited_at());
            let record = p
                .spec
                .as_ref()
                .map(|spec| exec_record(&req.exec_id, p, spec, true));
            if let (Some(recording), Some(record)) = (c.recording.as_ref(), record) {
                recording.record_exec(&req.id, &record);
            }
            c.execs.remove(&req.exec_id);
            r
        };
        if req.exec_id.is_empty() {
            info!(container = req.id.as_str(); "deleted, exit status {status}");
            self.events.publish(TaskDelete {
                container_id: req.id.clone(),
                pid: u32::try_from(pid).unwrap_or_default(),
                exit_status: status,
                exited_at: exited_at.clone().into(),
                ..Default::default()
            });
        }
        Ok(DeleteResponse {
            pid: u32::try_from(pid).unwrap_or_default(),
            exit_status: status,
            exited_at: exited_at.into(),
            ..Default::default()
        })
    }

    async fn do_exec(&self, req: ExecProcessRequest) -> Result<Empty> {
        let spec_any = req
            .spec
            .as_ref()
            .ok_or_else(|| invalid("exec request has no process spec"))?;
        let mut spec: oci_spec_runc::runtime::Process = serde_json::from_slice(&spec_any.value)
            .map_err(|e| invalid(format!("invalid exec process spec: {e}")))?;
        spec.set_terminal(Some(req.terminal));
        let mut containers = self.containers.lock().await;
        let c = container_mut(&mut containers, &req.id)?;
        let stdio = Stdio {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        c.add_exec(&req.exec_id, stdio, spec)?;
        debug!(container = req.id.as_str(); "exec {} added", req.exec_id);
        self.events.publish(TaskExecAdded {
            container_id: req.id.clone(),
            exec_id: req.exec_id.clone(),
            ..Default::default()
        });
        Ok(Empty::new())
    }

    async fn do_state(&self, req: StateRequest) -> Result<StateResponse> {
        let containers = self.containers.lock().await;
        let c = container(&containers, &req.id)?;
        let p = c.process(&req.exec_id)?;
        Ok(StateResponse {
            id: p.id.clone(),
            bundle: c.bundle.to_string_lossy().into_owned(),
            pid: u32::try_from(p.pid).unwrap_or_default(),
            status: p.status.into(),
            stdin: p.stdio.stdin.clone(),
            stdout: p.stdio.stdout.clone(),
            stderr: p.stdio.stderr.clone(),
            terminal: p.stdio.terminal,
            exit_status: p.exit_status(),
            exited_at: p.exited_at().into(),
            exec_id: req.exec_id.clone(),
            ..Default::default()
        })
    }

    async fn do_pids(&self, req: PidsRequest) -> Result<PidsResponse> {
        let containers = self.containers.lock().await;
        let c = container(&containers, &req.id)?;
        let pids = c.pids().await?;
        let mut processes = Vec::with_capacity(pids.len());
        for pid in pids {
            let pid = u32::try_from(pid).unwrap_or_default();
            let mut info = ProcessInfo {
                pid,
                ..Default::default()
            };
            // As runc's shim does: tell which pid is which exec.
            if let Some(exec) = c
                .execs
                .values()
                .find(|e| u32::try_from(e.pid).ok() == Some(pid))
            {
                let details = ProcessDetails {
                    exec_id: exec.id.clone(),
                    ..Default::default()
                };
                info.info = MessageField::some(Any {
                    type_url: "containerd.runc.v1.ProcessDetails".to_string(),
                    value: details
                        .write_to_bytes()
                        .map_err(|e| other(format!("encode process details: {e}")))?,
                    ..Default::default()
                });
            }
            processes.push(info);
        }
        Ok(PidsResponse {
            processes,
            ..Default::default()
        })
    }

    async fn do_kill(&self, req: KillRequest) -> Result<Empty> {
        let mut containers = self.containers.lock().await;
        let c = container_mut(&mut containers, &req.id)?;
        debug!(container = req.id.as_str(); "kill {} signal {} all={}", req.exec_id, req.signal, req.all);
        c.kill(&req.exec_id, req.signal, req.all).await?;
        Ok(Empty::new())
    }

    async fn do_wait(&self, req: WaitRequest) -> Result<WaitResponse> {
        let rx = {
            let containers = self.containers.lock().await;
            let c = container(&containers, &req.id)?;
            c.process(&req.exec_id)?.subscribe_exit()
        };
        // Waited for without the lock: every other request goes on meanwhile.
        let exit = wait_exit(rx)
            .await
            .ok_or_else(|| other("the process's state was dropped before it exited"))?;
        Ok(WaitResponse {
            exit_status: exit.status,
            exited_at: MessageField::some(containerd_shim::util::convert_to_timestamp(Some(
                exit.at,
            ))),
            ..Default::default()
        })
    }

    async fn do_stats(&self, req: StatsRequest) -> Result<StatsResponse> {
        let pid = {
            let containers = self.containers.lock().await;
            let c = container(&containers, &req.id)?;
            c.init.pid
        };
        if pid <= 0 {
            return Err(other(format!("container {} has no init process", req.id)));
        }
        let metrics = tokio::task::spawn_blocking(move || crate::stats::collect(pid))
            .await
            .map_err(|e| other(format!("collect metrics: {e}")))??
            .into_message();
        Ok(StatsResponse {
            stats: MessageField::some(convert_to_any(metrics)?),
            ..Default::default()
        })
    }
}

#[async_trait]
impl Task for TaskService {
    async fn state(&self, _ctx: &TtrpcContext, req: StateRequest) -> ttrpc::Result<StateResponse> {
        ttrpc_result(self.do_state(req).await)
    }

    async fn create(
        &self,
        _ctx: &TtrpcContext,
        req: CreateTaskRequest,
    ) -> ttrpc::Result<CreateTaskResponse> {
        let id = req.id.clone();
        let result = self.do_create(req).await;
        if let Err(e) = &result {
            warn!(container = id.as_str(); "create failed: {e}");
        }
        ttrpc_result(result)
    }

    async fn start(&self, _ctx: &TtrpcContext, req: StartRequest) -> ttrpc::Result<StartResponse> {
        ttrpc_result(self.do_start(req).await)
    }

    async fn delete(
        &self,
        _ctx: &TtrpcContext,
        req: DeleteRequest,
    ) -> ttrpc::Result<DeleteResponse> {
        ttrpc_result(self.do_delete(req).await)
    }

    async fn pids(&self, _ctx: &TtrpcContext, req: PidsRequest) -> ttrpc::Result<PidsResponse> {
        ttrpc_result(self.do_pids(req).await)
    }

    async fn pause(&self, _ctx: &TtrpcContext, req: PauseRequest) -> ttrpc::Result<Empty> {
        let result = async {
            let mut containers = self.containers.lock().await;
            let c = container_mut(&mut containers, &req.id)?;
            c.pause().await?;
            self.events.publish(TaskPaused {
                container_id: req.id.clone(),
                ..Default::default()
            });
            Ok(Empty::new())
        }
        .await;
        ttrpc_result(result)
    }

    async fn resume(&self, _ctx: &TtrpcContext, req: ResumeRequest) -> ttrpc::Result<Empty> {
        let result = async {
            let mut containers = self.containers.lock().await;
            let c = container_mut(&mut containers, &req.id)?;
            c.resume().await?;
            self.events.publish(TaskResumed {
                container_id: req.id.clone(),
                ..Default::default()
            });
            Ok(Empty::new())
        }
        .await;
        ttrpc_result(result)
    }

    async fn checkpoint(
        &self,
        _ctx: &TtrpcContext,
        _req: CheckpointTaskRequest,
    ) -> ttrpc::Result<Empty> {
        ttrpc_result(Err(Error::Unimplemented(
            "checkpoint is not supported by io.containerd.blackbox.v2".to_string(),
        )))
    }

    async fn kill(&self, _ctx: &TtrpcContext, req: KillRequest) -> ttrpc::Result<Empty> {
        ttrpc_result(self.do_kill(req).await)
    }

    async fn exec(&self, _ctx: &TtrpcContext, req: ExecProcessRequest) -> ttrpc::Result<Empty> {
        ttrpc_result(self.do_exec(req).await)
    }

    async fn resize_pty(&self, _ctx: &TtrpcContext, req: ResizePtyRequest) -> ttrpc::Result<Empty> {
        let result = async {
            let containers = self.containers.lock().await;
            let c = container(&containers, &req.id)?;
            let p = c.process(&req.exec_id)?;
            let master = p
                .console
                .as_ref()
                .ok_or_else(|| crate::errors::precondition("the process has no terminal"))?;
            console::resize(master, req.width, req.height)?;
            Ok(Empty::new())
        }
        .await;
        ttrpc_result(result)
    }

    async fn close_io(&self, _ctx: &TtrpcContext, req: CloseIORequest) -> ttrpc::Result<Empty> {
        let result = async {
            let mut containers = self.containers.lock().await;
            let c = container_mut(&mut containers, &req.id)?;
            let p = c.process_mut(&req.exec_id)?;
            if req.stdin {
                p.copiers.stdin_keepalive = None;
            }
            Ok(Empty::new())
        }
        .await;
        ttrpc_result(result)
    }

    async fn update(&self, _ctx: &TtrpcContext, req: UpdateTaskRequest) -> ttrpc::Result<Empty> {
        let result = async {
            let any = req
                .resources
                .as_ref()
                .ok_or_else(|| invalid("update request has no resources"))?;
            let resources: oci_spec_runc::runtime::LinuxResources =
                serde_json::from_slice(&any.value)
                    .map_err(|e| invalid(format!("invalid resources: {e}")))?;
            let containers = self.containers.lock().await;
            let c = container(&containers, &req.id)?;
            c.update(&resources).await?;
            Ok(Empty::new())
        }
        .await;
        ttrpc_result(result)
    }

    async fn wait(&self, _ctx: &TtrpcContext, req: WaitRequest) -> ttrpc::Result<WaitResponse> {
        ttrpc_result(self.do_wait(req).await)
    }

    async fn stats(&self, _ctx: &TtrpcContext, req: StatsRequest) -> ttrpc::Result<StatsResponse> {
        ttrpc_result(self.do_stats(req).await)
    }

    async fn connect(
        &self,
        _ctx: &TtrpcContext,
        req: ConnectRequest,
    ) -> ttrpc::Result<ConnectResponse> {
        let containers = self.containers.lock().await;
        let task_pid = containers
            .get(&req.id)
            .map_or(0, |c| u32::try_from(c.init.pid).unwrap_or_default());
        Ok(ConnectResponse {
            shim_pid: std::process::id(),
            task_pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        })
    }

    async fn shutdown(&self, _ctx: &TtrpcContext, _req: ShutdownRequest) -> ttrpc::Result<Empty> {
        let containers = self.containers.lock().await;
        if !containers.is_empty() {
            // Other containers of the pod still run in this shim.
            return Ok(Empty::new());
        }
        info!("no container left, shutting down");
        // Archives still being sealed (Delete stopped waiting for them) are finished first;
        // what cannot be, a later shim or `blackbox recover` seals as recovered.
        let recording = Arc::clone(&self.recording);
        let _ = tokio::task::spawn_blocking(move || {
            recording.wait_for_seals(Duration::from_secs(30));
        })
        .await;
        self.exit.signal();
        Ok(Empty::new())
    }
}
