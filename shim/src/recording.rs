//! Recording a container: register its cgroup with the eBPF recorder after
//! `runc create` and before `runc start`, drain its ring buffer into a SCAP
//! capture on a thread of its own, and stop at Delete after a last drain.
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

use blackbox_capture::{CaptureMeta, CaptureWriter};
use blackbox_config::{ContainerPolicy, NodeConfig, DEFAULT_NODE_CONFIG_PATH};
use blackbox_recorder::{
    BootClock, CgroupRef, ContainerRecorder, Recorder, RecorderOptions, RecordingPolicy,
};
use log::{error, info, warn};

/// How often the capture is made durable: at most this much is lost if the
/// shim or the node dies.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long a reader waits for the ring buffer before draining anyway.
const POLL: Duration = Duration::from_millis(100);

/// The node's recording setup, shared by the containers of this shim.
pub struct RecordingService {
    config: Result<NodeConfig, String>,
    recorder: Mutex<Option<Recorder>>,
}

/// A container being recorded.
pub struct ContainerRecording {
    stop: Arc<AtomicBool>,
    /// Written to on stop, so the reader leaves its poll at once.
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

/// What the shim knows of a container when its recording starts.
pub struct ContainerInfo {
    pub namespace: String,
    pub id: String,
    pub bundle: PathBuf,
    pub init_pid: i32,
    pub annotations: HashMap<String, String>,
}

/// Why recording did not start, and whether the container must be refused.
pub struct NotRecording {
    pub reason: String,
    pub fail_closed: bool,
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
        RecordingService {
            config,
            recorder: Mutex::new(None),
        }
    }

    /// Starts recording a created (not yet started) container. `Ok(None)`:
    /// the policy says not to record.
    pub fn start(&self, info: &ContainerInfo) -> Result<Option<ContainerRecording>, NotRecording> {
        let config = self.config.as_ref().map_err(|e| NotRecording {
            reason: format!("node config: {e}"),
            fail_closed: false,
        })?;
        let policy = ContainerPolicy::from_annotations(&config.recording, &info.annotations)
            .map_err(|e| NotRecording {
                reason: e.to_string(),
                fail_closed: config.recording.fail_closed,
            })?;
        if !policy.enabled {
            info!(container = info.id.as_str(); "recording is off for this container");
            return Ok(None);
        }
        // A pod's sandbox (pause) container runs no workload: its ring
        // buffer would only cost memory.
        if info
            .annotations
            .get("io.kubernetes.cri.container-type")
            .map(String::as_str)
            == Some("sandbox")
        {
            return Ok(None);
        }
        let fail = |reason: String| NotRecording {
            reason,
            fail_closed: policy.fail_closed,
        };
        let armed = Instant::now();
        let cgroup = unified_cgroup_of(info.init_pid)
            .ok_or_else(|| fail(format!("pid {} has no cgroup-v2 path", info.init_pid)))?;
        let reader = self
            .register(config, &cgroup, &policy)
            .map_err(|e| fail(format!("recorder: {e}")))?;
        let dir = config
            .recording
            .work_dir
            .join(&info.namespace)
            .join(&info.id);
        {
            use std::os::unix::fs::DirBuilderExt;
            // Captures hold what containers read and wrote: root only.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| fail(format!("create {}: {e}", dir.display())))?;
        }
        let capture = dir.join("capture.scap");
        let meta = capture_meta(info, &cgroup);
        let rootfs = info.bundle.join("rootfs");
        let writer = CaptureWriter::create(&capture, &meta, Some(&rootfs))
            .map_err(|e| fail(format!("capture {}: {e}", capture.display())))?;
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(new_eventfd().map_err(|e| fail(format!("eventfd: {e}")))?);
        let id = info.id.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("rec-{}", id.chars().take(11).collect::<String>()))
            .spawn({
                let stop = stop.clone();
                let wake = wake.clone();
                move || record_until_stopped(&id, reader, writer, &stop, &wake)
            })
            .map_err(|e| fail(format!("start the reader thread: {e}")))?;
        info!(container = info.id.as_str(); "recording to {} (snaplen {}, armed in {:?})", capture.display(), policy.snaplen, armed.elapsed());
        Ok(Some(ContainerRecording {
            stop,
            wake,
            thread: Some(thread),
        }))
    }

    fn register(
        &self,
        config: &NodeConfig,
        cgroup: &str,
        policy: &ContainerPolicy,
    ) -> Result<ContainerRecorder, String> {
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
        let path = recorder
            .cgroup2()
            .root()
            .join(cgroup.trim_start_matches('/'));
        recorder
            .register(
                &CgroupRef::Path(path),
                RecordingPolicy {
                    snaplen: policy.snaplen,
                    ring_bytes: policy.ring_buffer_bytes,
                    wakeup_bytes: None,
                    classes: policy.syscall_classes.clone(),
                },
            )
            .map_err(|e| e.to_string())
    }
}

impl ContainerRecording {
    /// Stops after a last drain, and waits (bounded) for the capture to be
    /// closed. Returns false if the reader did not finish in time; it then
    /// finishes on its own.
    pub async fn stop(&mut self, container_id: &str) -> bool {
        self.stop.store(true, Ordering::SeqCst);
        let one = 1u64.to_ne_bytes();
        // A failed wake only costs one poll interval.
        let _ = nix::unistd::write(self.wake.as_fd(), &one);
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let joined = tokio::task::spawn_blocking(move || thread.join());
        match tokio::time::timeout(Duration::from_secs(5), joined).await {
            Ok(Ok(Ok(()))) => true,
            Ok(_) => {
                error!(container = container_id; "the recording thread failed");
                false
            }
            Err(_) => {
                warn!(container = container_id; "the recording is still draining after 5 s");
                false
            }
        }
    }
}

fn record_until_stopped(
    id: &str,
    mut reader: ContainerRecorder,
    mut writer: CaptureWriter,
    stop: &AtomicBool,
    wake: &OwnedFd,
) {
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
    match reader.unregister() {
        Ok(losses) => {
            reader.drain(|record| {
                if writer.push(&record, &clock).is_err() {
                    push_errors += 1;
                }
            });
            let _ = writer.note_losses(&losses, clock.to_epoch_ns(boot_now_ns()));
        }
        Err(e) => warn!(container = id; "unregister from the recorder: {e}"),
    }
    if push_errors > 0 {
        warn!(container = id; "{push_errors} records could not be written to the capture");
    }
    match writer.finish() {
        Ok(summary) => info!(container = id; "capture closed: {summary:?}"),
        Err(e) => error!(container = id; "close capture: {e}"),
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
