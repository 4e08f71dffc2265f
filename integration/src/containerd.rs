//! A private containerd for one test run: its own config, root, state and sockets under a
//! temporary directory, our shim's directory first on its PATH, and a teardown that leaves
//! nothing behind even when a test failed or panicked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cmd;
use crate::config::{blackbox_node_toml, blackbox_runtime_toml, containerd_toml, Layout};
use crate::host;
use crate::prereq::HostTools;

/// Prefix of run directories in /tmp (kept short: unix socket paths are limited to 108 bytes).
const RUN_PREFIX: &str = "bbit-";

pub struct Containerd {
    pub layout: Layout,
    pub tools: HostTools,
    pub shim_dir: PathBuf,
    /// Receives the alerts the shims POST to the webhook.
    pub webhook: crate::webhook::WebhookSink,
    child: Mutex<Option<Child>>,
    /// Cgroup paths (relative to each hierarchy) that tests created; removed at teardown.
    cgroups: Mutex<Vec<String>>,
    /// Set once teardown has run; held while it runs (a signal may race the normal end).
    torn_down: Mutex<bool>,
}

impl Containerd {
    /// Creates the run directory, writes the configs and starts containerd.
    pub fn start(tools: HostTools, shim_dir: PathBuf) -> Result<Self> {
        reap_stale_runs();
        let dir = tempfile::Builder::new()
            .prefix(RUN_PREFIX)
            .tempdir_in("/tmp")
            .context("creating the run directory in /tmp")?
            .keep();
        let layout = Layout::new(&dir);
        fs::write(dir.join("harness.pid"), std::process::id().to_string())?;
        for d in [
            &layout.root,
            &layout.state,
            &layout.runc_root,
            &layout.fifo_dir,
            &layout.cni_conf_dir,
            &layout.pod_logs,
        ] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        fs::write(
            &layout.config,
            containerd_toml(&layout, &tools.cni_bin_dir, &tools.runc),
        )?;
        fs::write(
            &layout.blackbox_runtime_config,
            blackbox_runtime_toml(&layout, &tools.runc),
        )?;
        let webhook = crate::webhook::WebhookSink::start()?;
        fs::write(
            &layout.blackbox_node_config,
            blackbox_node_toml(&layout, &webhook.url),
        )?;
        let me = Containerd {
            layout,
            tools,
            shim_dir,
            webhook,
            child: Mutex::new(None),
            cgroups: Mutex::new(Vec::new()),
            torn_down: Mutex::new(false),
        };
        me.spawn()?;
        Ok(me)
    }

    fn spawn(&self) -> Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.layout.log)?;
        let path = format!(
            "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            self.shim_dir.display()
        );
        let child = Command::new(&self.tools.containerd)
            .arg("--config")
            .arg(&self.layout.config)
            .env_clear()
            .env("PATH", path)
            .env("HOME", "/root")
            .env("BLACKBOX_CONFIG", &self.layout.blackbox_node_config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting containerd")?;
        fs::write(&self.layout.pid_file, child.id().to_string())?;
        *self.lock_child() = Some(child);
        self.wait_ready()
    }

    fn lock_child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.lock_child().as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "containerd exited during start-up ({status}); its log:\n{}",
                        self.log_tail(40)
                    );
                }
            }
            let mut c = Command::new(&self.tools.ctr);
            c.arg("--address").arg(&self.layout.address).arg("version");
            if let Ok(out) = cmd::run(c, None, Duration::from_secs(5)) {
                if out.code() == 0 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "containerd did not answer on {} within 30 s; its log:\n{}",
                    self.layout.address.display(),
                    self.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// containerd's process id, while it runs.
    #[must_use]
    pub fn pid(&self) -> Option<i32> {
        self.lock_child()
            .as_ref()
            .and_then(|c| i32::try_from(c.id()).ok())
    }

    /// Stops containerd with SIGTERM (SIGKILL after 15 s); running shims and tasks stay.
    pub fn stop(&self) -> Result<()> {
        let Some(mut child) = self.lock_child().take() else {
            return Ok(());
        };
        let pid = Pid::from_raw(i32::try_from(child.id())?);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("containerd did not stop on SIGTERM within 15 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops containerd and starts it again with the same config.
    pub fn restart(&self) -> Result<()> {
        self.stop()?;
        self.spawn()
    }

    /// The last `lines` lines of containerd's log, for failure messages.
    #[must_use]
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(&self.layout.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Remembers a cgroup path that teardown must empty and remove.
    pub fn track_cgroup(&self, path: impl Into<String>) {
        let mut v = self
            .cgroups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let path = path.into();
        if !v.contains(&path) {
            // Also on disk, so that a later run can clean up if this one is killed.
            let _ = fs::write(
                self.layout.dir.join("cgroups"),
                format!("{}\n{path}", v.join("\n")),
            );
            v.push(path);
        }
    }

    /// Removes every task, container and namespace through containerd, then stops it and
    /// cleans up what is left on the host: shims, container processes, mounts, cgroups, the
    /// shims' sockets and the run directory.
    /// Runs once; later calls wait for the first to finish and return.
    pub fn teardown(&self) {
        let mut done = self
            .torn_down
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *done {
            return;
        }
        *done = true;
        if self.pid().is_some() {
            let ctr = crate::ctr::Ctr::admin(self);
            for ns in ctr.namespaces().unwrap_or_default() {
                ctr.in_namespace(&ns).remove_everything();
            }
        }
        let sockets = shim_sockets(&self.layout.state);
        if let Err(e) = self.stop() {
            eprintln!("teardown: {e:#}");
        }
        cleanup_host(&self.layout.dir, &self.layout.address, &sockets);
        let cgroups = self
            .cgroups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for cg in cgroups {
            host::remove_cgroup_tree(&cg);
        }
        // The run's eBPF pins (programs, maps, links): gone with the run.
        if self.layout.bpf_pin_root.exists() {
            if let Err(e) = fs::remove_dir_all(&self.layout.bpf_pin_root) {
                eprintln!(
                    "teardown: could not unpin {}: {e}",
                    self.layout.bpf_pin_root.display()
                );
            }
        }
        if std::env::var_os("BLACKBOX_IT_KEEP").is_some() {
            eprintln!("teardown: keeping {}", self.layout.dir.display());
            return;
        }
        if let Err(e) = fs::remove_dir_all(&self.layout.dir) {
            eprintln!(
                "teardown: could not remove {}: {e}",
                self.layout.dir.display()
            );
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Shim socket paths recorded in the bundles' `address` files under `state`.
fn shim_sockets(state: &Path) -> Vec<PathBuf> {
    host::files_under(&state.join("io.containerd.runtime.v2.task"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "address"))
        .filter_map(|p| fs::read_to_string(p).ok())
        .filter_map(|a| a.trim().strip_prefix("unix://").map(PathBuf::from))
        .collect()
}

/// Kills shims of the containerd at `address`, unmounts everything under `dir` and removes the
/// shims' sockets. (Container processes are killed through their cgroups.)
fn cleanup_host(dir: &Path, address: &Path, sockets: &[PathBuf]) {
    for shim in host::shims_of(address) {
        eprintln!(
            "teardown: killing leftover shim {} {:?}",
            shim.pid, shim.args
        );
        host::kill_pid(shim.pid);
    }
    host::unmount_all_under(dir);
    for s in sockets {
        let _ = fs::remove_file(s);
    }
}

/// Cleans up after earlier runs that were killed before their teardown ran.
fn reap_stale_runs() {
    let Ok(entries) = fs::read_dir("/tmp") else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let dir = e.path();
        let is_run = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(RUN_PREFIX));
        let Ok(owner) = fs::read_to_string(dir.join("harness.pid")) else {
            continue;
        };
        let owner_alive = owner.trim().parse().is_ok_and(host::alive);
        if !is_run || owner_alive {
            continue;
        }
        eprintln!("reaping stale run directory {}", dir.display());
        let layout = Layout::new(&dir);
        if let Ok(pid) = fs::read_to_string(&layout.pid_file) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&*layout.config.to_string_lossy()) {
                    host::kill_pid(pid);
                }
            }
        }
        let sockets = shim_sockets(&layout.state);
        cleanup_host(&dir, &layout.address, &sockets);
        for cg in fs::read_to_string(dir.join("cgroups"))
            .unwrap_or_default()
            .lines()
        {
            if !cg.trim().is_empty() {
                host::remove_cgroup_tree(cg.trim());
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
