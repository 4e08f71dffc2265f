//! Live Falco rules: every event a container's capture writer writes is also handed (through
//! a bounded queue, never blocking the recording) to a thread of its own that keeps
//! libsinsp-like process/fd state and evaluates the node's rules on it. Alerts, in Falco's
//! JSON, go to the container's `alerts.jsonl` (sealed into its archive), to the node alert
//! log (shared by every shim, rotated) and to a Falcosidekick-compatible webhook.
//!
//! Nothing here can fail a container: rules that do not load are reported and the
//! container is recorded without live evaluation; a queue that is full counts the events
//! not evaluated (`rules_behind`), a webhook that is down counts the alerts not sent.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Write},
    net::{TcpStream, ToSocketAddrs},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc::{sync_channel, Receiver, SyncSender, TrySendError},
        Arc, Condvar, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use blackbox_archive::WorkDir;
use blackbox_capture::EventTap;
use blackbox_config::{parse_http_url, AlertsConfig, HttpUrl, RulesConfig};
use blackbox_model::Model;
use blackbox_rules::{Engine, EngineConfig, Priority, RuleMatching};
use blackbox_scap::{Event, Metadata, SectionMetadata};
use log::{error, info, warn};

/// Alerts of one container written to the shim's log in full; after that only counted.
const LOGGED_ALERTS: u64 = 50;
/// Events a worker evaluates before it writes the alerts found so far.
const BATCH: usize = 4096;

/// The rules and alert outputs of one shim, shared by its containers.
pub struct LiveRules {
    engine: Arc<EngineSlot>,
    sinks: Arc<Sinks>,
    queue_events: usize,
}

/// The engine, once loaded (on a thread of its own: loading the upstream files takes tens of
/// milliseconds, which must not delay a container's start); `Err` says why there is none.
#[derive(Default)]
struct EngineSlot {
    state: Mutex<Option<Result<Arc<Engine>, String>>>,
    ready: Condvar,
}

impl EngineSlot {
    fn set(&self, r: Result<Arc<Engine>, String>) {
        if let Ok(mut s) = self.state.lock() {
            *s = Some(r);
        }
        self.ready.notify_all();
    }

    fn wait(&self) -> Result<Arc<Engine>, String> {
        let Ok(mut s) = self.state.lock() else {
            return Err("rules lock poisoned".into());
        };
        loop {
            if let Some(r) = s.as_ref() {
                return r.clone();
            }
            s = match self.ready.wait(s) {
                Ok(s) => s,
                Err(_) => return Err("rules lock poisoned".into()),
            };
        }
    }
}

/// Where alerts go besides the container's own `alerts.jsonl`.
struct Sinks {
    node_log: Option<NodeLog>,
    webhook: Option<Webhook>,
}

/// Loads the configured rules files. An error names every problem (file, line, reason).
fn load_engine(rules: &RulesConfig) -> Result<Engine, String> {
    let min_priority = Priority::parse(&rules.min_priority)
        .ok_or_else(|| format!("min_priority {:?}: not a priority", rules.min_priority))?;
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut engine = Engine::new(EngineConfig {
        min_priority,
        rule_matching: if rules.all_matches {
            RuleMatching::All
        } else {
            RuleMatching::First
        },
        hostname,
        ..EngineConfig::default()
    });
    let started = Instant::now();
    let loaded = engine.load_files(&rules.files).map_err(|e| e.to_string())?;
    for w in loaded.warnings() {
        warn!("rules: {w}");
    }
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
    if !errors.is_empty() {
        return Err(format!(
            "{} error(s) loading the rules:\n{}",
            errors.len(),
            errors.join("\n")
        ));
    }
    info!(
        "rules: {} rules loaded from {} in {:?}",
        engine.ruleset().rules().len(),
        rules
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed()
    );
    Ok(engine)
}

impl LiveRules {
    /// Starts loading the configured rules files in the background. `Ok(None)`: live
    /// evaluation is off by config; `Err`: the alert outputs are unusable. Rules that do not
    /// load are reported (containerd's log, the node log) when the load ends, and every
    /// container's evaluation then ends with that reason.
    pub fn start_loading(
        rules: &RulesConfig,
        alerts: &AlertsConfig,
    ) -> Result<Option<LiveRules>, String> {
        if !rules.enabled || rules.files.is_empty() {
            return Ok(None);
        }
        let webhook = if alerts.webhook_url.is_empty() {
            None
        } else {
            Some(Webhook::start(alerts)?)
        };
        let engine = Arc::new(EngineSlot::default());
        let slot = engine.clone();
        let config = rules.clone();
        let alert_log = alerts.log_path.clone();
        std::thread::Builder::new()
            .name("rules-load".into())
            .spawn(move || {
                let loaded = load_engine(&config).map(Arc::new);
                if let Err(e) = &loaded {
                    error!("live rules are off: {e}");
                    node_log_error(&alert_log, &format!("live rules are off: {e}"));
                }
                slot.set(loaded);
            })
            .map_err(|e| format!("start the rules loader: {e}"))?;
        Ok(Some(LiveRules {
            engine,
            sinks: Arc::new(Sinks {
                node_log: Some(NodeLog {
                    path: alerts.log_path.clone(),
                    max_bytes: alerts.log_max_bytes,
                    keep: alerts.log_keep,
                }),
                webhook,
            }),
            queue_events: rules.queue_events,
        }))
    }

    /// Starts evaluating one container: the returned tap goes to its capture writer, the
    /// handle is finished after the writer (whose drop ends the evaluation). Events queue
    /// while the rules are still loading.
    pub fn start(
        &self,
        container_id: &str,
        work: Arc<Mutex<Option<WorkDir>>>,
    ) -> Result<(Box<dyn EventTap>, ContainerRules), String> {
        let (tx, rx) = sync_channel(self.queue_events);
        let behind = Arc::new(AtomicU64::new(0));
        let id = container_id.to_string();
        let engine = self.engine.clone();
        let sinks = self.sinks.clone();
        let thread = std::thread::Builder::new()
            .name(format!(
                "rules-{}",
                container_id.chars().take(9).collect::<String>()
            ))
            .spawn(move || {
                let engine = match engine.wait() {
                    Ok(e) => e,
                    Err(e) => {
                        // Nothing to evaluate with: let the writer's events go.
                        while rx.recv().is_ok() {}
                        return Err(e);
                    }
                };
                let worker = Worker {
                    id,
                    engine,
                    sinks,
                    work,
                    model: Model::new(),
                    num: 0,
                    stats: RulesStats::default(),
                    pending: Vec::new(),
                };
                Ok(worker.run(&rx))
            })
            .map_err(|e| format!("start the rules thread: {e}"))?;
        Ok((
            Box::new(ChannelTap {
                tx,
                behind: behind.clone(),
            }),
            ContainerRules { thread, behind },
        ))
    }
}

/// One container's live evaluation.
pub struct ContainerRules {
    thread: JoinHandle<Result<RulesStats, String>>,
    behind: Arc<AtomicU64>,
}

/// What live evaluation did for one container.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesStats {
    /// Events evaluated.
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Events not evaluated because the queue was full.
    pub behind: u64,
    /// Alerts the container's `alerts.jsonl` could not take.
    pub unwritten: u64,
    /// CPU time of the container's rules thread (model, evaluation, alert output), ns: the
    /// live cost per event is `cpu_ns / events`.
    pub cpu_ns: u64,
}

/// CPU time the calling thread has used, ns (0 if the clock cannot be read).
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
}

impl ContainerRules {
    /// Waits for the evaluation of every queued event (the capture writer, and with it the
    /// tap, must be gone) and returns what it did, or why nothing was evaluated.
    pub fn finish(self, container_id: &str) -> Result<RulesStats, String> {
        let mut stats = match self.thread.join() {
            Ok(r) => r?,
            Err(_) => {
                error!(container = container_id; "the rules thread failed");
                return Err("the rules thread failed".into());
            }
        };
        stats.behind = self.behind.load(Ordering::Relaxed);
        if stats.behind > 0 {
            warn!(container = container_id; "rules: {} events were not evaluated (the evaluation fell behind)", stats.behind);
        }
        Ok(stats)
    }
}

enum Msg {
    Section(Box<Metadata>, String),
    Event(Event),
}

/// The capture writer's side: hands events over, never waits.
struct ChannelTap {
    tx: SyncSender<Msg>,
    behind: Arc<AtomicU64>,
}

impl EventTap for ChannelTap {
    fn section(&mut self, meta: &SectionMetadata, container_json: &str) {
        let meta = Metadata {
            machine: meta.machine.clone(),
            interfaces: meta.interfaces.clone(),
            users: meta.users.clone(),
            groups: meta.groups.clone(),
            processes: meta.processes.clone(),
            fds: meta.fds.clone(),
            ..Metadata::default()
        };
        self.send(Msg::Section(Box::new(meta), container_json.to_string()));
    }

    fn event(&mut self, event: &Event) {
        self.send(Msg::Event(event.clone()));
    }
}

impl ChannelTap {
    fn send(&self, msg: Msg) {
        match self.tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.behind.fetch_add(1, Ordering::Relaxed);
            }
            // The worker is gone (it failed): nothing to evaluate with.
            Err(TrySendError::Disconnected(_)) => {
                self.behind.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

struct Worker {
    id: String,
    engine: Arc<Engine>,
    sinks: Arc<Sinks>,
    work: Arc<Mutex<Option<WorkDir>>>,
    model: Model,
    /// `evt.num` of the last event, counted as the capture counts them.
    num: u64,
    stats: RulesStats,
    /// Alert lines not yet written.
    pending: Vec<u8>,
}

impl Worker {
    fn run(mut self, rx: &Receiver<Msg>) -> RulesStats {
        while let Ok(msg) = rx.recv() {
            self.handle(msg);
            for _ in 0..BATCH {
                match rx.try_recv() {
                    Ok(msg) => self.handle(msg),
                    Err(_) => break,
                }
            }
            self.write_pending();
        }
        self.write_pending();
        self.stats.cpu_ns = thread_cpu_ns();
        self.stats
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Section(meta, json) => {
                self.model.load_metadata(&meta);
                self.model.add_container_json(&json);
                // The container event is the capture's first event.
                self.num += 1;
            }
            Msg::Event(ev) => {
                self.num += 1;
                self.stats.events += 1;
                self.model.process_event(self.num, ev);
                let ruleset = self.engine.ruleset();
                let mut raised = Vec::new();
                ruleset.evaluate(&mut self.model, |ri, m| {
                    if let Some(a) = ruleset.alert(ri, m) {
                        raised.push(a);
                    }
                });
                for a in raised {
                    self.stats.alerts += 1;
                    if self.stats.alerts <= LOGGED_ALERTS {
                        warn!(container = self.id.as_str(); "alert: {}", a.output);
                    } else if self.stats.alerts == LOGGED_ALERTS + 1 {
                        warn!(container = self.id.as_str(); "more alerts: see the archive's alerts.jsonl and the node alert log");
                    }
                    let json = a.to_json();
                    let Ok(mut line) = serde_json::to_vec(&json) else {
                        continue;
                    };
                    line.push(b'\n');
                    if let Some(w) = &self.sinks.webhook {
                        w.send(&line);
                    }
                    self.pending.extend_from_slice(&line);
                }
            }
        }
    }

    /// Appends the pending alert lines to the container's `alerts.jsonl` and the node log.
    fn write_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.pending);
        let n = lines.iter().filter(|&&b| b == b'\n').count() as u64;
        let written = match self.work.lock() {
            Ok(w) => match w.as_ref() {
                Some(w) => w.append_alert_bytes(&lines).map_err(|e| e.to_string()),
                None => Err("the archive is already sealed".into()),
            },
            Err(_) => Err("working directory lock poisoned".into()),
        };
        if let Err(e) = written {
            self.stats.unwritten += n;
            warn!(container = self.id.as_str(); "alerts.jsonl: {e}");
        }
        if let Some(log) = &self.sinks.node_log {
            if let Err(e) = log.append(&lines) {
                warn!(container = self.id.as_str(); "node alert log {}: {e}", log.path.display());
            }
        }
    }
}

/// Where node-level problems are written for the operator besides containerd's log: the
/// file `blackbox.log` next to the node alert log.
pub fn node_log_path(alert_log: &Path) -> PathBuf {
    alert_log
        .parent()
        .unwrap_or_else(|| Path::new("/var/log/blackbox"))
        .join("blackbox.log")
}

/// Appends one problem (`<time> shim[<pid>]: <message>`, indented continuation lines) to the
/// node log; best effort (containerd's log has it too).
pub fn node_log_error(alert_log: &Path, message: &str) {
    let path = node_log_path(alert_log);
    let line = format!(
        "{} shim[{}]: {}\n",
        blackbox_archive::timefmt::now_rfc3339(),
        std::process::id(),
        message.replace('\n', "\n    ")
    );
    let written = path
        .parent()
        .map_or(Ok(()), |d| {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(d)
        })
        .and_then(|()| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
        })
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        warn!("node log {}: {e}", path.display());
    }
}

/// The node alert log: every shim appends whole lines (`O_APPEND`), under an exclusive
/// `flock` of `<log>.lock` that also serialises rotation across shims.
struct NodeLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
}

impl NodeLog {
    fn append(&self, lines: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            if !dir.is_dir() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o750)
                    .create(dir)?;
            }
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(lock_path(&self.path))?;
        let _held = Flock::exclusive(&lock)?;
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        if size > 0 && size + lines.len() as u64 > self.max_bytes {
            rotate(&self.path, self.keep)?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        f.write_all(lines)
    }
}

fn lock_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// `log` → `log.1` → … → `log.<keep>` (the oldest is removed); `keep` 0 just truncates.
fn rotate(log: &Path, keep: u32) -> std::io::Result<()> {
    let numbered = |n: u32| {
        let mut p = log.as_os_str().to_owned();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    };
    if keep == 0 {
        return File::create(log).map(drop);
    }
    match std::fs::remove_file(numbered(keep)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    for n in (1..keep).rev() {
        match std::fs::rename(numbered(n), numbered(n + 1)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::rename(log, numbered(1))
}

struct Flock<'a>(&'a File);

impl<'a> Flock<'a> {
    fn exclusive(f: &'a File) -> std::io::Result<Self> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: flock on a file descriptor this File owns.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Flock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; unlocking cannot fail in a way that matters (close unlocks).
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Falcosidekick-compatible webhook: a thread POSTs each alert (Falco's `http_output`: the
/// JSON alert as the body, `Content-Type: application/json`), with retries and doubling
/// backoff; the queue is bounded and a full queue drops (counted) rather than waits.
struct Webhook {
    tx: SyncSender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl Webhook {
    fn start(config: &AlertsConfig) -> Result<Webhook, String> {
        let url = parse_http_url(&config.webhook_url)?;
        let (tx, rx) = sync_channel::<Vec<u8>>(config.webhook_queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let timeout = Duration::from_millis(config.webhook_timeout_ms);
        let attempts = config.webhook_attempts;
        let d = dropped.clone();
        let display = config.webhook_url.clone();
        std::thread::Builder::new()
            .name("webhook".into())
            .spawn(move || {
                for body in rx {
                    if let Err(e) = post_with_retries(&url, &body, timeout, attempts) {
                        let n = d.fetch_add(1, Ordering::Relaxed) + 1;
                        if n == 1 || n.is_multiple_of(100) {
                            warn!("webhook {display}: {n} alert(s) not delivered, last: {e}");
                        }
                    }
                }
            })
            .map_err(|e| format!("start the webhook thread: {e}"))?;
        Ok(Webhook { tx, dropped })
    }

    fn send(&self, line: &[u8]) {
        let body = line.strip_suffix(b"\n").unwrap_or(line).to_vec();
        if self.tx.try_send(body).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(100) {
                warn!("webhook: {n} alert(s) dropped (the queue is full or the sender failed)");
            }
        }
    }
}

fn post_with_retries(
    url: &HttpUrl,
    body: &[u8],
    timeout: Duration,
    attempts: u32,
) -> Result<(), String> {
    let mut backoff = Duration::from_millis(250);
    let mut last = String::new();
    for attempt in 1..=attempts {
        match post(url, body, timeout) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if attempt < attempts {
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
    Err(last)
}

/// One HTTP/1.1 POST; success is a 2xx status.
fn post(url: &HttpUrl, body: &[u8], timeout: Duration) -> Result<(), String> {
    let addrs: Vec<_> = url
        .authority
        .to_socket_addrs()
        .map_err(|e| format!("resolve {}: {e}", url.authority))?
        .collect();
    let mut last = format!("{}: no address", url.authority);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(mut s) => {
                s.set_read_timeout(Some(timeout)).ok();
                s.set_write_timeout(Some(timeout)).ok();
                let head = format!(
                    "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: blackbox/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    url.path,
                    url.host,
                    env!("CARGO_PKG_VERSION"),
                    body.len()
                );
                s.write_all(head.as_bytes())
                    .and_then(|()| s.write_all(body))
                    .map_err(|e| format!("send to {addr}: {e}"))?;
                let status = read_status(&mut s).map_err(|e| format!("{addr}: {e}"))?;
                return if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(format!("{addr} answered HTTP {status}"))
                };
            }
            Err(e) => last = format!("connect {addr}: {e}"),
        }
    }
    Err(last)
}

/// The status code of an HTTP/1.x response (the rest is ignored).
fn read_status(s: &mut impl Read) -> Result<u16, String> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 || buf.len() > 8192 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|&b| b == b'\r').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => code
            .parse()
            .map_err(|_| format!("bad status line {text:?}")),
        _ => Err(format!("not an HTTP response: {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn rotation_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = NodeLog {
            path: dir.path().join("sub/alerts.jsonl"),
            max_bytes: 10,
            keep: 2,
        };
        for line in ["a1234567\n", "b1234567\n", "c1234567\n", "d1234567\n"] {
            log.append(line.as_bytes()).expect("append");
        }
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
        assert_eq!(read("sub/alerts.jsonl"), "d1234567\n");
        assert_eq!(read("sub/alerts.jsonl.1"), "c1234567\n");
        assert_eq!(read("sub/alerts.jsonl.2"), "b1234567\n");
        assert!(!dir.path().join("sub/alerts.jsonl.3").exists());
    }

    #[test]
    fn posts_json_and_reads_the_status() {
        let server = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = server.local_addr().expect("addr").port();
        let got = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for status in ["500 Oops", "200 OK"] {
                let (mut s, _) = server.accept().expect("accept");
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                // Read until the body (Content-Length 7) is complete.
                while !String::from_utf8_lossy(&req).ends_with("{\"a\":1}") {
                    let n = s.read(&mut buf).expect("read");
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .expect("answer");
                bodies.push(String::from_utf8_lossy(&req).into_owned());
            }
            bodies
        });
        let url = parse_http_url(&format!("http://127.0.0.1:{port}/hook")).expect("url");
        let r = post_with_retries(&url, b"{\"a\":1}", Duration::from_secs(5), 3);
        assert!(r.is_ok(), "{r:?}");
        let bodies = got.join().expect("server");
        assert_eq!(bodies.len(), 2, "one retry after the 500");
        assert!(
            bodies[1].starts_with("POST /hook HTTP/1.1\r\n"),
            "{}",
            bodies[1]
        );
        assert!(bodies[1].contains("Content-Type: application/json\r\n"));
        let err = post(&url, b"{}", Duration::from_millis(200)).expect_err("nobody listens");
        assert!(err.contains("connect"), "{err}");
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            read_status(&mut &b"HTTP/1.1 204 No Content\r\n\r\n"[..]),
            Ok(204)
        );
        assert!(read_status(&mut &b"SSH-2.0-x\r\n"[..]).is_err());
        assert!(read_status(&mut &b""[..]).is_err());
    }
}
