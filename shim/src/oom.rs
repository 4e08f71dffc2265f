//! Watching a container's memory cgroup for OOM kills (TaskOOM).
//!
//! cgroup v1 (and the memory controller of a hybrid host): an eventfd
//! registered on `memory.oom_control` through `cgroup.event_control`, which
//! also fires when the cgroup is removed. cgroup v2: `memory.events`, whose
//! `oom_kill` counter we compare on each inotify modification.

use std::{
    fs,
    io::Read,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use log::{debug, warn};
use tokio::sync::mpsc;

/// Where the memory controller of `pid` lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryCgroup {
    V1(PathBuf),
    V2(PathBuf),
}

/// Finds the memory cgroup of a process from `/proc/<pid>/cgroup`.
pub fn memory_cgroup(pid: i32) -> Option<MemoryCgroup> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    parse_memory_cgroup(&text, Path::new("/sys/fs/cgroup"))
}

fn parse_memory_cgroup(text: &str, root: &Path) -> Option<MemoryCgroup> {
    let mut unified = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            return Some(MemoryCgroup::V1(root.join("memory").join(rel)));
        }
        if controllers.is_empty() {
            unified = Some(rel.to_string());
        }
    }
    // Pure cgroup v2: the unified hierarchy is mounted at the root itself.
    let rel = unified?;
    if root.join("cgroup.controllers").exists() {
        Some(MemoryCgroup::V2(root.join(rel)))
    } else {
        None
    }
}

/// A container's OOM watch: armed before the container starts, so a kill that
/// comes at once is seen; each kill is reported once, by the watcher thread or,
/// if the init's exit is handled first, by [`OomWatch::catch_up`].
#[derive(Debug, Clone)]
pub struct OomWatch {
    pub cgroup: MemoryCgroup,
    /// OOM kills already reported (TaskOOM sent).
    reported: Arc<Mutex<u64>>,
}

impl OomWatch {
    /// Arms the notification now (before `runc start`) and starts a thread
    /// that sends the container id on `tx` for each new OOM kill. The thread
    /// ends when the cgroup goes away.
    pub fn start(
        cgroup: MemoryCgroup,
        container_id: String,
        tx: mpsc::UnboundedSender<String>,
    ) -> std::io::Result<Self> {
        let notifier = Notifier::arm(&cgroup)?;
        let watch = OomWatch {
            reported: Arc::new(Mutex::new(oom_kill_total(&cgroup))),
            cgroup,
        };
        let thread_watch = watch.clone();
        std::thread::Builder::new()
            .name("oom-watch".into())
            .spawn(move || {
                if let Err(e) = thread_watch.run(notifier, &container_id, &tx) {
                    warn!(container = container_id.as_str(); "OOM watch on {:?} stopped: {e}", thread_watch.cgroup);
                }
            })?;
        Ok(watch)
    }

    /// Marks kills counted by the kernel but not reported yet as reported;
    /// true when there were any (the caller then sends TaskOOM). Called when
    /// the init exits, before TaskExit, while the cgroup still exists.
    pub fn catch_up(&self) -> bool {
        let now = oom_kill_total(&self.cgroup);
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        if now > *reported {
            *reported = now;
            true
        } else {
            false
        }
    }

    fn run(
        &self,
        mut notifier: Notifier,
        container_id: &str,
        tx: &mpsc::UnboundedSender<String>,
    ) -> std::io::Result<()> {
        loop {
            let gone = notifier.wait()?;
            // Count first: the notification of a kill may be read only after
            // the cgroup is gone, and then the count is lost with it.
            if self.catch_up() && tx.send(container_id.to_string()).is_err() {
                return Ok(());
            }
            if gone || !self.cgroup.path().exists() {
                debug!(container = container_id; "memory cgroup removed, OOM watch ends");
                return Ok(());
            }
        }
    }
}

impl MemoryCgroup {
    fn path(&self) -> &Path {
        match self {
            MemoryCgroup::V1(path) | MemoryCgroup::V2(path) => path,
        }
    }
}

/// What wakes the watcher: an eventfd on `memory.oom_control` (v1, which
/// also fires when the cgroup is removed) or inotify on `memory.events` (v2).
enum Notifier {
    V1 {
        events: fs::File,
        // Kept open for as long as the eventfd is registered on it.
        _oom_control: fs::File,
    },
    V2(nix::sys::inotify::Inotify),
}

impl Notifier {
    fn arm(cgroup: &MemoryCgroup) -> std::io::Result<Self> {
        match cgroup {
            MemoryCgroup::V1(path) => {
                let oom_control = fs::File::open(path.join("memory.oom_control"))?;
                // SAFETY: eventfd has no memory-safety preconditions; the
                // result is checked and then owned.
                let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
                if efd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // SAFETY: `efd` was just returned by eventfd and is owned by
                // nothing else.
                let efd = unsafe { OwnedFd::from_raw_fd(efd) };
                fs::write(
                    path.join("cgroup.event_control"),
                    format!("{} {}", efd.as_raw_fd(), oom_control.as_raw_fd()),
                )?;
                Ok(Notifier::V1 {
                    events: fs::File::from(efd),
                    _oom_control: oom_control,
                })
            }
            MemoryCgroup::V2(path) => {
                use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
                let inotify = Inotify::init(InitFlags::IN_CLOEXEC).map_err(std::io::Error::from)?;
                inotify
                    .add_watch(
                        &path.join("memory.events"),
                        AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_DELETE_SELF,
                    )
                    .map_err(std::io::Error::from)?;
                Ok(Notifier::V2(inotify))
            }
        }
    }

    /// Blocks until the next notification; true when it says the cgroup is gone.
    fn wait(&mut self) -> std::io::Result<bool> {
        match self {
            Notifier::V1 { events, .. } => {
                let mut buf = [0u8; 8];
                events.read_exact(&mut buf)?;
                Ok(false)
            }
            Notifier::V2(inotify) => {
                use nix::sys::inotify::AddWatchFlags;
                let events = inotify.read_events().map_err(std::io::Error::from)?;
                Ok(events
                    .iter()
                    .any(|e| e.mask.contains(AddWatchFlags::IN_IGNORED)))
            }
        }
    }
}

/// Whether the kernel's OOM killer has killed a process of this cgroup (read before the
/// cgroup is removed: for the container's archive).
pub fn oom_killed(cgroup: &MemoryCgroup) -> bool {
    oom_kill_total(cgroup) > 0
}

fn oom_kill_total(cgroup: &MemoryCgroup) -> u64 {
    match cgroup {
        MemoryCgroup::V1(path) => oom_kill_count(path, "memory.oom_control"),
        MemoryCgroup::V2(path) => oom_kill_count(path, "memory.events"),
    }
}

fn oom_kill_count(path: &Path, file: &str) -> u64 {
    fs::read_to_string(path.join(file))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|v| v.trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_host_uses_the_v1_memory_controller() {
        let text = "12:memory:/default/c1\n0::/default/c1\n";
        assert_eq!(
            parse_memory_cgroup(text, Path::new("/sys/fs/cgroup")),
            Some(MemoryCgroup::V1(PathBuf::from(
                "/sys/fs/cgroup/memory/default/c1"
            )))
        );
    }

    #[test]
    fn pure_v2_host_uses_the_unified_path() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("cgroup.controllers"), "memory\n").expect("write");
        assert_eq!(
            parse_memory_cgroup("0::/kubepods/pod1/c1\n", root.path()),
            Some(MemoryCgroup::V2(root.path().join("kubepods/pod1/c1")))
        );
    }

    #[test]
    fn counts_oom_kills() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        )
        .expect("write");
        assert_eq!(oom_kill_count(dir.path(), "memory.oom_control"), 3);
        assert_eq!(oom_kill_count(dir.path(), "absent"), 0);
    }
}
