//! Running runc.
//!
//! The shim is a child subreaper and reaps every child on SIGCHLD (the
//! `containerd-shim` crate does, and publishes each exit on its monitor). A
//! runc command spawned the ordinary way would race that reaper for its own
//! exit status, so runc runs through [`ShimExecutor`], which subscribes to the
//! monitor before spawning and waits for its own pid's exit there.

use std::{os::unix::process::ExitStatusExt, path::Path, process::ExitStatus, sync::Arc};

use async_trait::async_trait;
use blackbox_config::RuntimeOptions;
use containerd_shim::{
    asynchronous::monitor::{monitor_subscribe, monitor_unsubscribe, Subscription},
    monitor::{ExitEvent, Subject, Topic},
};
use runc::{options::GlobalOpts, Command, Runc, Spawner};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::errors::{other, Result};

/// runc writes its own log (JSON lines) here, in the bundle.
pub const RUNC_LOG_FILE: &str = "log.json";

#[derive(Debug, Default)]
pub struct ShimExecutor;

#[async_trait]
impl Spawner for ShimExecutor {
    async fn execute(&self, mut cmd: Command) -> runc::Result<(ExitStatus, u32, String, String)> {
        let subscription = monitor_subscribe(Topic::Pid)
            .await
            .map_err(|e| runc::error::Error::Other(Box::new(e)))?;
        let sid = subscription.id;
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = monitor_unsubscribe(sid).await;
                return Err(runc::error::Error::ProcessSpawnFailed(e));
            }
        };
        let pid = child.id().unwrap_or_default();
        let (stdout, stderr, code) = tokio::join!(
            read_all(child.stdout.take()),
            read_all(child.stderr.take()),
            wait_for_exit(pid, subscription)
        );
        let _ = monitor_unsubscribe(sid).await;
        // The monitor reports 128+signal for a signalled child; runc is never
        // expected to die of a signal, and either way the command failed.
        Ok((ExitStatus::from_raw(code << 8), pid, stdout, stderr))
    }
}

async fn read_all<R: AsyncRead + Unpin>(stream: Option<R>) -> String {
    let mut out = Vec::new();
    if let Some(mut stream) = stream {
        let _ = stream.read_to_end(&mut out).await;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn wait_for_exit(pid: u32, mut subscription: Subscription) -> i32 {
    while let Some(ExitEvent { subject, exit_code }) = subscription.rx.recv().await {
        if let Subject::Pid(p) = subject {
            if u32::try_from(p).ok() == Some(pid) {
                return exit_code;
            }
        }
    }
    // The monitor went away: the shim is shutting down.
    255
}

/// A runc handle for one container's bundle and namespace.
pub fn new_runc(options: &RuntimeOptions, namespace: &str, bundle: &Path) -> Result<Runc> {
    let mut global = GlobalOpts::default()
        .command(options.runc_binary())
        .root(options.runc_root(namespace))
        .log(bundle.join(RUNC_LOG_FILE))
        .log_json()
        .systemd_cgroup(options.systemd_cgroup);
    global.custom_spawner(Arc::new(ShimExecutor));
    global.build().map_err(|e| {
        other(format!(
            "runc binary {:?} is not usable: {e}",
            options.runc_binary()
        ))
    })
}

#[derive(Deserialize)]
struct RuncLogLine {
    level: String,
    msg: String,
}

/// Explains a failed runc command with the last error runc logged, which
/// says far more than its exit status.
pub async fn runtime_error(
    bundle: &Path,
    err: runc::error::Error,
    what: &str,
) -> containerd_shim::Error {
    let mut last_error = None;
    if let Ok(text) = tokio::fs::read_to_string(bundle.join(RUNC_LOG_FILE)).await {
        for line in text.lines() {
            if let Ok(entry) = serde_json::from_str::<RuncLogLine>(line) {
                if entry.level == "error" || entry.level == "fatal" {
                    last_error = Some(entry.msg.trim().to_string());
                }
            }
        }
    }
    match last_error {
        Some(msg) => other(format!("{what}: {msg}")),
        None => other(format!("{what}: {err}")),
    }
}
