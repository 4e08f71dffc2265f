//! Recording a container: register its cgroup with the eBPF recorder after
//! `runc create` and before `runc start`, drain its ring buffer into a SCAP
//! capture in the container's crash-safe working directory on a thread of its
//! own, and at Delete: a last drain, then seal the evidence (capture, metadata,
//! exec sessions, the upper dir's changes) into a signed archive.
//!
//! Recording never decides the container's fate unless the policy says
//! fail-closed: a recorder that cannot start is logged and the container
//! runs unrecorded; a capture that cannot be written stops the recording,
//! not the container.

use std::{
    collections::{BTreeMap, HashMap},
    os::fd::{AsFd, FromRawFd, OwnedFd},
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use blackbox_archive::{
    ArchiveCompression, ContainerIdentity, ExecRecord, ExitStatus, NodeKey, OverlayDirs,
    RecoverOptions, RetentionPolicy, SealOptions, WorkDir,
};
use blackbox_capture::{CaptureMeta, CaptureSummary, CaptureWriter};
use blackbox_config::{
    ArchiveCompressionName, ArchiveConfig, ContainerPolicy, NodeConfig, DEFAULT_NODE_CONFIG_PATH,
};
use blackbox_recorder::{
    BootClock, CgroupRef, ContainerRecorder, PreparedRing, Recorder, RecorderOptions,
    RecordingPolicy,
};
use log::{error, info, warn};

use crate::alerts::{node_log_error, ContainerRules, LiveRules, RulesStats};

/// How often the capture is made durable: at most this much is lost if the
/// shim or the node dies.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long a reader waits for the ring buffer before draining anyway.
const POLL: Duration = Duration::from_millis(100);

/// How long Delete waits for a container's last drain and seal before it goes on (the
/// sealing thread then finishes on its own; Shutdown waits for it).
const SEAL_WAIT: Duration = Duration::from_secs(8);

/// The node's recording setup, shared by the containers of this shim.
pub struct RecordingService {
    config: Result<NodeConfig, String>,
    recorder: Mutex<Option<Recorder>>,
    /// The node's signing key, loaded (or created) on first use.
    key: Arc<Mutex<Option<Arc<NodeKey>>>>,
    /// Sealing threads still running (Shutdown waits for them).
    sealing: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// The live rules, loaded with the first recorded container: `Err` says why there are
    /// none (rules that do not load), `Ok(None)` that live rules are off.
    rules: Mutex<Option<Result<Option<Arc<LiveRules>>, String>>>,
}

/// A container being recorded.
pub struct ContainerRecording {
    stop: Arc<AtomicBool>,
    /// Written to on stop, so the reader leaves its poll at once.
    wake: Arc<OwnedFd>,
    /// How the container ended, set before `stop` (the reader puts it in the metadata).
    facts: Arc<Mutex<Option<ExitFacts>>>,
    /// The working directory, shared with the reader thread (exec sessions are appended);
    /// `None` once sealed and removed.
    work: Arc<Mutex<Option<WorkDir>>>,
    /// The reader thread; it seals at the end. Moved to the service when Delete stops
    /// waiting for it.
    thread: Option<JoinHandle<()>>,
    /// Closed when the reader thread ends (sealed, or unwinding): what `stop` awaits.
    done: Option<tokio::sync::oneshot::Receiver<()>>,
    sealing: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Start times of the exec sessions still running.
    exec_started: Mutex<HashMap<String, String>>,
}

/// What the shim knows of a container when its recording starts.
pub struct ContainerInfo {
    pub namespace: String,
    pub id: String,
    pub bundle: PathBuf,
    pub init_pid: i32,
    pub annotations: HashMap<String, String>,
    /// The rootfs overlay (from Create's mounts), for the file-system diff.
    pub overlay: Option<OverlayDirs>,
}

/// How a container ended, for its metadata.
#[derive(Debug, Clone, Default)]
pub struct ExitFacts {
    /// Exit status as containerd reports it: the code, or 128 + signal.
    pub exit_status: u32,
    /// The signal a status above 128 stands for (as containerd's convention has it, an
    /// `exit(137)` looks the same as a SIGKILL).
    pub signal: Option<i32>,
    pub exited_at: Option<std::time::SystemTime>,
    pub oom_killed: bool,
}

/// The archive settings a reader thread seals with.
struct SealSettings {
    archive: ArchiveConfig,
    key: Arc<Mutex<Option<Arc<NodeKey>>>>,
}

/// Why recording did not start, and whether the container must be refused.
pub struct NotRecording {
    pub reason: String,
    pub fail_closed: bool,
}

/// A container's recording, half armed: its policy decided and its ring buffer in the
/// recorder's maps (see [`RecordingService::prepare`]). Dropped, the ring goes.
pub struct PreparedRecording {
    policy: ContainerPolicy,
    policy_note: Option<String>,
    ring: PreparedRing,
    took: Duration,
}

impl RecordingService {
    /// Reads the node configuration (`BLACKBOX_CONFIG` overrides the path,
    /// for tests). A bad file does not stop the shim: recording is then off
    /// and every Create says why.
    pub fn from_node_config() -> Self {
        let path = std::env::var_os("BLACKBOX_CONFIG")
            .map_or_else(|| PathBuf::from(DEFAULT_NODE_CONFIG_PATH), PathBuf::from);
        let config = NodeConfig::load_or_default(&path).map_err(|e| e.to_string());
        if let Err(e) = &config {
            error!("recording is off: {e}");
        }
        let service = RecordingService {
            config,
            recorder: Mutex::new(None),
            key: Arc::new(Mutex::new(None)),
            sealing: Arc::new(Mutex::new(Vec::new())),
            rules: Mutex::new(None),
        };
        service.recover_in_background();
        service
    }

    /// Seals, as `recovered`, the working directories of shims that died (a SIGKILLed or
    /// crashed shim leaves its containers' evidence unsealed). Directories whose owner is
    /// alive are left alone (their lock is held).
    fn recover_in_background(&self) {
        let Ok(config) = self.config.as_ref() else {
            return;
        };
        let root = config.recording.work_dir.clone();
        if !root.is_dir() {
            return;
        }
        let archive = config.archive.clone();
        let key = self.key.clone();
        let spawned = std::thread::Builder::new()
            .name("recover".into())
            .spawn(move || recover_dead_workdirs(&root, &archive, &key));
        if let Err(e) = spawned {
            warn!("cannot start the recovery thread: {e}");
        }
    }

    /// Waits (bounded) for sealing threads still running: called before the shim exits.
    pub fn wait_for_seals(&self, timeout: Duration) {
        let handles: Vec<JoinHandle<()>> = match self.sealing.lock() {
            Ok(mut v) => v.drain(..).collect(),
            Err(_) => return,
        };
        let deadline = Instant::now() + timeout;
        for h in handles {
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                warn!("a container's archive is still being sealed at shutdown: it is recovered by the next shim or `blackbox recover`");
            }
        }
    }

    /// The first half of arming a container's recording, run while `runc create` runs (it
    /// needs only the bundle's annotations): decides the policy and puts the container's
    /// ring buffer into the recorder's maps, which waits for an RCU grace period in the
    /// kernel. `Ok(None)`: the policy says not to record.
    pub fn prepare(
        &self,
        id: &str,
        annotations: &HashMap<String, String>,
    ) -> Result<Option<PreparedRecording>, NotRecording> {
        let started = Instant::now();
        let config = self.config.as_ref().map_err(|e| NotRecording {
            reason: format!("node config: {e}"),
            fail_closed: false,
        })?;
        let (policy, policy_note) =
            match ContainerPolicy::from_annotations(&config.recording, annotations) {
                Ok(p) => (p, None),
                Err(e) => {
                    // A bad annotation never turns recording off: whoever may create a pod
                    // could otherwise hide from the recorder behind a misspelt key. The
                    // node's policy applies, and the archive says why.
                    let note = format!(
                        "the blackbox.io annotations were ignored, the node's recording policy \
                         applied: {e}"
                    );
                    warn!(container = id; "{note}");
                    (ContainerPolicy::node_default(&config.recording), Some(note))
                }
            };
        if !policy.enabled {
            info!(container = id; "recording is off for this container");
            return Ok(None);
        }
        // A pod's sandbox (pause) container runs no workload: its ring
        // buffer would only cost memory.
        if annotations
            .get("io.kubernetes.cri.container-type")
            .map(String::as_str)
            == Some("sandbox")
        {
            return Ok(None);
        }
        let ring = self
            .prepare_ring(config, &policy)
            .map_err(|e| NotRecording {
                reason: format!("recorder: {e}"),
                fail_closed: policy.fail_closed,
            })?;
        Ok(Some(PreparedRecording {
            policy,
            policy_note,
            ring,
            took: started.elapsed(),
        }))
    }

    /// The second half: ties the prepared ring to the created container's cgroup and starts
    /// its capture and reader thread. `Ok(None)`: the policy said not to record.
    pub fn start(
        &self,
        info: &ContainerInfo,
        prepared: Result<Option<PreparedRecording>, NotRecording>,
    ) -> Result<Option<ContainerRecording>, NotRecording> {
        let Some(PreparedRecording {
            policy,
            policy_note,
            ring,
            took: t_prepared,
        }) = prepared?
        else {
            return Ok(None);
        };
        let config = self.config.as_ref().map_err(|e| NotRecording {
            reason: format!("node config: {e}"),
            fail_closed: false,
        })?;
        let fail = |reason: String| NotRecording {
            reason,
            fail_closed: policy.fail_closed,
        };
        let armed = Instant::now();
        let cgroup = unified_cgroup_of(info.init_pid)
            .ok_or_else(|| fail(format!("pid {} has no cgroup-v2 path", info.init_pid)))?;
        let reader = self
            .register(ring, &cgroup)
            .map_err(|e| fail(format!("recorder: {e}")))?;
        let t_registered = armed.elapsed();
        // Captures hold what containers read and wrote: root only (0700 / 0600).
        let root = config.recording.work_dir.join(&info.namespace);
        // Made durable by the reader thread as it starts: the fsyncs (~30 ms) stay off the
        // container's start, and a crash in between loses less than the 1 s flush period.
        let overlay = info.overlay.clone();
        let work = WorkDir::create_unsynced(&root, &identity_of(info), |m| {
            m.overlay = overlay;
            m.started_at = Some(blackbox_archive::timefmt::now_rfc3339());
            m.notes.extend(policy_note);
        })
        .map_err(|e| fail(format!("working directory: {e}")))?;
        let t_workdir = armed.elapsed();
        let capture = work.capture_path();
        let meta = capture_meta(info, &cgroup);
        let rootfs = info.bundle.join("rootfs");
        let mut writer = CaptureWriter::create(&capture, &meta, Some(&rootfs))
            .map_err(|e| fail(format!("capture {}: {e}", capture.display())))?;
        let t_capture = armed.elapsed();
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(new_eventfd().map_err(|e| fail(format!("eventfd: {e}")))?);
        let facts = Arc::new(Mutex::new(None));
        let work = Arc::new(Mutex::new(Some(work)));
        // Labels and image digest are containerd's container metadata: asked for off the
        // container's start path, bounded; the seal waits (bounded) for the answer.
        let containerd_meta = crate::containerd_meta::fill_in_background(
            &info.namespace,
            &info.id,
            info.annotations
                .get("io.kubernetes.cri.image-name")
                .cloned(),
            work.clone(),
        );
        let rules = self.live_rules(config, &info.id, &work, &mut writer);
        let t_rules = armed.elapsed();
        let seal = SealSettings {
            archive: config.archive.clone(),
            key: self.key.clone(),
        };
        let id = info.id.to_string();
        // The sender is dropped when the thread ends, sealed or unwinding.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("rec-{}", id.chars().take(11).collect::<String>()))
            .spawn({
                let stop = stop.clone();
                let wake = wake.clone();
                let facts = facts.clone();
                let work = work.clone();
                move || {
                    let _done = done_tx;
                    if let Some(Err(e)) = work
                        .lock()
                        .ok()
                        .as_ref()
                        .and_then(|w| w.as_ref().map(WorkDir::sync))
                    {
                        warn!(container = id.as_str(); "working directory: {e}");
                    }
                    // The writer (and with it the rules' tap) is gone when this returns.
                    let summary = record_until_stopped(&id, reader, writer, &stop, &wake);
                    let rules = rules.map(|r| r.and_then(|r| r.finish(&id)));
                    let facts = facts.lock().ok().and_then(|f| f.clone());
                    wait_for_containerd_meta(&id, containerd_meta, &work);
                    seal_container(&id, &work, summary, facts, rules, &seal);
                }
            })
            .map_err(|e| fail(format!("start the reader thread: {e}")))?;
        info!(
            container = info.id.as_str();
            "recording to {} (snaplen {}, armed in {:?} after the ring was prepared in {:?} during runc create: registered {:?}, working dir {:?}, capture {:?}, rules {:?})",
            capture.display(),
            policy.snaplen,
            armed.elapsed(),
            t_prepared,
            t_registered,
            t_workdir - t_registered,
            t_capture - t_workdir,
            t_rules - t_capture
        );
        Ok(Some(ContainerRecording {
            stop,
            wake,
            facts,
            work,
            thread: Some(thread),
            done: Some(done_rx),
            sealing: self.sealing.clone(),
            exec_started: Mutex::new(HashMap::new()),
        }))
    }

    /// Starts live rules evaluation for a container whose capture `writer` is about to
    /// record. `Err`: why it is not evaluated live (also noted in its metadata).
    fn live_rules(
        &self,
        config: &NodeConfig,
        id: &str,
        work: &Arc<Mutex<Option<WorkDir>>>,
        writer: &mut CaptureWriter,
    ) -> Option<Result<ContainerRules, String>> {
        let live = {
            let Ok(mut slot) = self.rules.lock() else {
                return Some(Err("rules lock poisoned".into()));
            };
            let loaded = slot.get_or_insert_with(|| {
                LiveRules::start_loading(&config.rules, &config.alerts)
                    .map(|r| r.map(Arc::new))
                    .inspect_err(|e| {
                        error!("live rules are off: {e}");
                        node_log_error(&config.alerts.log_path, e);
                    })
            });
            match loaded {
                Ok(Some(live)) => live.clone(),
                Ok(None) => return None,
                Err(e) => return Some(Err(e.clone())),
            }
        };
        Some(live.start(id, work.clone()).map(|(tap, rules)| {
            writer.set_tap(tap);
            rules
        }))
    }

    /// Opens the node's recorder (loading the programs if no shim has) and prepares a ring.
    fn prepare_ring(
        &self,
        config: &NodeConfig,
        policy: &ContainerPolicy,
    ) -> Result<PreparedRing, String> {
        let mut guard = self
            .recorder
            .lock()
            .map_err(|_| "recorder lock poisoned".to_string())?;
        if guard.is_none() {
            let options = RecorderOptions {
                pin_root: config.recording.bpf_pin_root.clone(),
                ..RecorderOptions::default()
            };
            *guard = Some(Recorder::open(&options).map_err(|e| e.to_string())?);
        }
        let recorder = guard.as_mut().ok_or("recorder not open")?;
        recorder
            .prepare(RecordingPolicy {
                snaplen: policy.snaplen,
                ring_bytes: policy.ring_buffer_bytes,
                wakeup_bytes: None,
                classes: policy.syscall_classes.clone(),
            })
            .map_err(|e| e.to_string())
    }

    /// Ties a prepared ring to the container's cgroup (v2 path, as in /proc/PID/cgroup).
    fn register(&self, ring: PreparedRing, cgroup: &str) -> Result<ContainerRecorder, String> {
        let mut guard = self
            .recorder
            .lock()
            .map_err(|_| "recorder lock poisoned".to_string())?;
        let recorder = guard.as_mut().ok_or("recorder not open")?;
        let path = recorder
            .cgroup2()
            .root()
            .join(cgroup.trim_start_matches('/'));
        recorder
            .register_prepared(ring, &CgroupRef::Path(path))
            .map_err(|e| e.to_string())
    }
}

impl ContainerRecording {
    /// Records an exec session in the working directory (at its start, and again with its
    /// end: the last line of an exec id is the complete one).
    pub fn record_exec(&self, container_id: &str, exec: &ExecRecord) {
        let mut exec = exec.clone();
        if let Ok(mut started) = self.exec_started.lock() {
            match (&exec.started_at, exec.ended_at.is_some()) {
                (Some(at), false) => {
                    started.insert(exec.exec_id.clone(), at.clone());
                }
                (None, true) => exec.started_at = started.remove(&exec.exec_id),
                _ => {}
            }
        }
        let exec = &exec;
        let appended = match self.work.lock() {
            Ok(w) => match w.as_ref() {
                Some(w) => w.append_exec(exec).map_err(|e| e.to_string()),
                None => Err("the archive is already sealed".into()),
            },
            Err(_) => Err("working directory lock poisoned".into()),
        };
        if let Err(e) = appended {
            warn!(container = container_id; "exec record {}: {e}", exec.exec_id);
        }
    }

    /// Stops after a last drain, closes the capture and seals the archive, waiting (bounded)
    /// for it. Returns false if that did not finish in time; the thread then finishes on
    /// its own and Shutdown waits for it.
    pub async fn stop(&mut self, container_id: &str, facts: ExitFacts) -> bool {
        if let Ok(mut f) = self.facts.lock() {
            *f = Some(facts);
        }
        self.stop.store(true, Ordering::SeqCst);
        let one = 1u64.to_ne_bytes();
        // A failed wake only costs one poll interval.
        let _ = nix::unistd::write(self.wake.as_fd(), &one);
        let Some(thread) = self.thread.take() else {
            return true;
        };
        if let Some(done) = self.done.take() {
            // Ok or Err(closed): the thread has ended either way; Elapsed: it has not.
            let _ = tokio::time::timeout(SEAL_WAIT, done).await;
        }
        // Its last instructions after dropping the sender; a panic counts as ended too.
        let deadline = Instant::now() + Duration::from_millis(100);
        while !thread.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if !thread.is_finished() {
            warn!(container = container_id; "still sealing after {SEAL_WAIT:?}: going on, the shim waits for it before exiting");
            if let Ok(mut v) = self.sealing.lock() {
                v.push(thread);
            }
            return false;
        }
        if thread.join().is_err() {
            error!(container = container_id; "the recording thread failed");
            return false;
        }
        true
    }
}

/// Waits (bounded: the fetch has a timeout of its own) for containerd's metadata of a
/// container that ended quickly, so its archive has its labels. A later answer is dropped.
fn wait_for_containerd_meta(
    id: &str,
    fetch: Option<JoinHandle<()>>,
    work: &Mutex<Option<WorkDir>>,
) {
    let Some(fetch) = fetch else {
        return;
    };
    let deadline = Instant::now() + crate::containerd_meta::FETCH_TIMEOUT + Duration::from_secs(1);
    while !fetch.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if fetch.is_finished() {
        let _ = fetch.join();
    } else {
        warn!(container = id; "sealing without containerd's labels and image digest: still fetching them");
        if let Ok(mut w) = work.lock() {
            if let Some(w) = w.as_mut() {
                let _ = w.update_metadata(|m| {
                    m.notes.push(
                        "labels, image and image digest from containerd are missing: no answer in time"
                            .into(),
                    );
                });
            }
        }
    }
}

/// The container's identity for its archive, from the CRI annotations when present.
fn identity_of(info: &ContainerInfo) -> ContainerIdentity {
    let a = &info.annotations;
    let get = |k: &str| a.get(k).cloned();
    let spec_sha256 = std::fs::read(info.bundle.join("config.json"))
        .ok()
        .map(|bytes| {
            use sha2::Digest;
            hex(&sha2::Sha256::digest(&bytes))
        });
    ContainerIdentity {
        id: info.id.clone(),
        containerd_namespace: Some(info.namespace.clone()),
        name: get("io.kubernetes.cri.container-name"),
        image: get("io.kubernetes.cri.image-name"),
        image_digest: None,
        pod_name: get("io.kubernetes.cri.sandbox-name"),
        pod_namespace: get("io.kubernetes.cri.sandbox-namespace"),
        pod_uid: get("io.kubernetes.cri.sandbox-uid"),
        labels: BTreeMap::new(),
        annotations: a.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        oci_spec_sha256: spec_sha256,
        node_name: nix::unistd::gethostname()
            .ok()
            .map(|h| h.to_string_lossy().into_owned()),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The node key: loaded once, or created (0600) if the node has none yet.
fn node_key(
    slot: &Mutex<Option<Arc<NodeKey>>>,
    path: &std::path::Path,
) -> Result<Arc<NodeKey>, String> {
    let mut guard = slot.lock().map_err(|_| "key lock poisoned".to_string())?;
    if let Some(k) = guard.as_ref() {
        return Ok(k.clone());
    }
    let key = match NodeKey::load(path) {
        Ok(k) => k,
        Err(load_err) if !path.exists() => {
            info!(
                "no node key at {}: creating one ({load_err})",
                path.display()
            );
            NodeKey::generate_and_store(path).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let key = Arc::new(key);
    *guard = Some(key.clone());
    Ok(key)
}

fn compression_of(config: &ArchiveConfig) -> ArchiveCompression {
    match config.compression {
        ArchiveCompressionName::None => ArchiveCompression::None,
        ArchiveCompressionName::Zstd => ArchiveCompression::Zstd(config.zstd_level),
    }
}

fn retention_of(config: &ArchiveConfig) -> RetentionPolicy {
    RetentionPolicy {
        max_total_bytes: config.retention.max_total_bytes,
        max_age: config
            .retention
            .max_age_days
            .map(|d| Duration::from_secs(d.saturating_mul(86_400))),
        max_namespace_bytes: config.retention.max_namespace_bytes,
    }
}

/// Writes the exit facts and counters into the metadata, seals the working directory into
/// an archive, removes it, and applies retention. A failure leaves the directory for
/// recovery; it never touches the container.
fn seal_container(
    id: &str,
    work: &Mutex<Option<WorkDir>>,
    summary: Option<CaptureSummary>,
    facts: Option<ExitFacts>,
    rules: Option<Result<RulesStats, String>>,
    settings: &SealSettings,
) {
    let Ok(mut guard) = work.lock() else {
        error!(container = id; "working directory lock poisoned: left for recovery");
        return;
    };
    let Some(wd) = guard.as_mut() else {
        return;
    };
    let updated = wd.update_metadata(|m| {
        if let Some(f) = &facts {
            m.exited_at = Some(f.exited_at.map_or_else(
                blackbox_archive::timefmt::now_rfc3339,
                blackbox_archive::timefmt::format_rfc3339,
            ));
            // containerd's status (128 + n for a signal), and the signal it implies, unless
            // the recorded init exit says the process exited with that number itself.
            let exited_itself = summary.as_ref().and_then(|s| s.init_exit).is_some_and(|e| {
                e.signal.is_none()
                    && e.code.and_then(|c| u32::try_from(c).ok()) == Some(f.exit_status)
            });
            m.exit = Some(ExitStatus {
                code: i32::try_from(f.exit_status).ok(),
                signal: if exited_itself { None } else { f.signal },
            });
            m.oom_killed = f.oom_killed;
        }
        if let Some(s) = &summary {
            let l = &s.losses;
            for (name, v) in [
                ("records", l.records),
                ("ringbuf_full", l.ringbuf_full),
                ("ringbuf_full_bytes", l.ringbuf_full_bytes),
                ("no_ring", l.no_ring),
                ("str_truncated", l.str_truncated),
                ("data_snapped", l.data_snapped),
                ("read_failed", l.read_failed),
                ("scratch_overflow", l.scratch_overflow),
                ("events_written", s.events_written),
                ("pre_exec_dropped", s.pre_exec_dropped),
                ("conversion_failures", s.conversion_failures),
                ("pending_evicted", s.pending_evicted),
                ("processes_evicted", s.processes_evicted),
            ] {
                m.drops.insert(name.to_string(), v);
            }
        } else {
            m.notes
                .push("the capture was not closed normally: its last second may be missing".into());
        }
        match &rules {
            Some(Ok(r)) => {
                for (name, v) in [
                    ("rules_events", r.events),
                    ("rules_cpu_ns", r.cpu_ns),
                    ("rules_alerts", r.alerts),
                    ("rules_behind", r.behind),
                    ("rules_alerts_unwritten", r.unwritten),
                ] {
                    m.drops.insert(name.to_string(), v);
                }
            }
            Some(Err(e)) => m
                .notes
                .push(format!("the rules were not evaluated live: {e}")),
            None => m
                .notes
                .push("live rules evaluation is off by configuration".into()),
        }
    });
    if let Err(e) = updated {
        warn!(container = id; "metadata: {e}");
    }
    let key = match node_key(&settings.key, &settings.archive.node_key) {
        Ok(k) => k,
        Err(e) => {
            error!(container = id; "node key {}: {e}; the evidence stays in {} for `blackbox recover`", settings.archive.node_key.display(), wd.path().display());
            return;
        }
    };
    let mut opts = SealOptions::new(&settings.archive.archives_dir);
    opts.compression = compression_of(&settings.archive);
    opts.content_cap = settings.archive.content_cap_bytes;
    opts.min_free_bytes = settings.archive.min_free_bytes;
    let started = Instant::now();
    match blackbox_archive::seal(wd, &key, &opts) {
        Ok(sealed) => {
            info!(container = id; "sealed {} ({} bytes, {} members) in {:?}", sealed.path.display(), sealed.size, sealed.members, started.elapsed());
            for note in &sealed.notes {
                warn!(container = id; "archive note: {note}");
            }
            if let Some(wd) = guard.take() {
                if let Err(e) = wd.remove() {
                    warn!(container = id; "remove the working directory: {e}");
                }
            }
            if let Err(e) = blackbox_archive::apply_retention(
                &settings.archive.archives_dir,
                &retention_of(&settings.archive),
                std::time::SystemTime::now(),
                false,
            ) {
                warn!(container = id; "retention: {e}");
            }
        }
        Err(e) => {
            error!(container = id; "sealing failed: {e}; the evidence stays in {} for `blackbox recover`", wd.path().display());
        }
    }
}

/// Seals every dead owner's working directory under `<work_dir>/<namespace>/`.
fn recover_dead_workdirs(
    root: &std::path::Path,
    archive: &ArchiveConfig,
    key: &Mutex<Option<Arc<NodeKey>>>,
) {
    let Ok(namespaces) = std::fs::read_dir(root) else {
        return;
    };
    let mut opts = RecoverOptions::new(&archive.archives_dir);
    opts.compression = compression_of(archive);
    opts.content_cap = archive.content_cap_bytes;
    opts.min_free_bytes = archive.min_free_bytes;
    for ns in namespaces.flatten() {
        let dir = ns.path();
        if !dir.is_dir() {
            continue;
        }
        let unsealed = match blackbox_archive::list_unsealed(&dir) {
            Ok(v) => v,
            Err(e) => {
                warn!("recovery: {}: {e}", dir.display());
                continue;
            }
        };
        if unsealed.is_empty() {
            continue;
        }
        let key = match node_key(key, &archive.node_key) {
            Ok(k) => k,
            Err(e) => {
                warn!("recovery: node key {}: {e}", archive.node_key.display());
                return;
            }
        };
        match blackbox_archive::recover(&dir, Some(&key), &opts) {
            Ok(outcomes) => {
                for o in outcomes {
                    info!("recovery: {}: {:?}", o.work_dir.display(), o.action);
                }
            }
            Err(e) => warn!("recovery: {}: {e}", dir.display()),
        }
    }
}

fn record_until_stopped(
    id: &str,
    mut reader: ContainerRecorder,
    mut writer: CaptureWriter,
    stop: &AtomicBool,
    wake: &OwnedFd,
) -> Option<CaptureSummary> {
    let clock: BootClock = *reader.clock();
    let mut push_errors = 0u64;
    let mut last_flush = Instant::now();
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if let Err(e) = reader.wait_or_wake(POLL, Some(wake.as_fd())) {
            warn!(container = id; "ring buffer poll: {e}");
        }
        reader.drain(|record| {
            if writer.push(&record, &clock).is_err() {
                push_errors += 1;
            }
        });
        if stopping || last_flush.elapsed() >= FLUSH_EVERY {
            match reader.losses() {
                Ok(losses) => {
                    if let Err(e) = writer.note_losses(&losses, clock.to_epoch_ns(boot_now_ns())) {
                        warn!(container = id; "write drop events: {e}");
                    }
                }
                Err(e) => warn!(container = id; "read loss counters: {e}"),
            }
            if let Err(e) = writer.flush() {
                error!(container = id; "flush capture: {e}");
            }
            last_flush = Instant::now();
        }
        if stopping {
            break;
        }
    }
    // Unregister, then drain what was written before the entry went away.
    if let Err(e) = reader.unregister() {
        warn!(container = id; "unregister from the recorder: {e}");
    }
    reader.drain(|record| {
        if writer.push(&record, &clock).is_err() {
            push_errors += 1;
        }
    });
    match reader.losses() {
        Ok(losses) => {
            if let Err(e) = writer.note_losses(&losses, clock.to_epoch_ns(boot_now_ns())) {
                warn!(container = id; "write drop events: {e}");
            }
        }
        Err(e) => warn!(container = id; "read loss counters: {e}"),
    }
    // The ring leaves the recorder's maps after an RCU grace period (~8 ms): not on the
    // way to the seal and Delete's answer. A shim that exits first leaves it to the next
    // registration's cleanup.
    let release = std::thread::Builder::new()
        .name("rec-release".into())
        .spawn(move || drop(reader));
    if let Err(e) = release {
        warn!(container = id; "cannot start the ring release thread: {e}");
    }
    if push_errors > 0 {
        warn!(container = id; "{push_errors} records could not be written to the capture");
    }
    match writer.finish() {
        Ok(summary) => {
            info!(container = id; "capture closed: {summary:?}");
            Some(summary)
        }
        Err(e) => {
            error!(container = id; "close capture: {e}");
            None
        }
    }
}

fn new_eventfd() -> std::io::Result<OwnedFd> {
    // SAFETY: eventfd has no memory-safety preconditions; the result is
    // checked before it is owned.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by eventfd and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn boot_now_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0)
        })
        .unwrap_or(0)
}

/// The cgroup-v2 path of `pid` (the `0::` line), e.g. `/default/c1`.
fn unified_cgroup_of(pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

fn capture_meta(info: &ContainerInfo, cgroup: &str) -> CaptureMeta {
    let a = &info.annotations;
    let get = |k: &str| a.get(k).cloned().unwrap_or_default();
    let name = a
        .get("io.kubernetes.cri.container-name")
        .cloned()
        .unwrap_or_else(|| info.id.clone());
    CaptureMeta {
        container_id: info.id.to_string(),
        container_name: name,
        image: get("io.kubernetes.cri.image-name"),
        labels: a
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        init_pid: info.init_pid,
        cgroup_path: cgroup.to_string(),
    }
}
