//! Restarting containerd so it reads the changed config, then waiting until it serves again:
//! kubelet (and the DaemonSet's next step) must not race a daemon that is still starting.
//!
//! Readiness is `ctr --address ADDR version` succeeding (the Version RPC answered). Where `ctr`
//! is not available (a slim installer image), a minimal HTTP/2 handshake on the socket stands
//! in: containerd's gRPC server answers the client preface with a SETTINGS frame only once it
//! is serving.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::command::{self, CommandLine, RunError};
use crate::error::InstallError;

/// How to restart containerd and how long to wait for it.
#[derive(Debug, Clone)]
pub struct RestartOptions {
    /// Shell command that restarts containerd; `None` = `systemctl restart containerd` when
    /// systemd runs this machine.
    pub restart_command: Option<String>,
    /// containerd's gRPC socket.
    pub containerd_address: PathBuf,
    /// `ctr` (or a command prefix running it).
    pub ctr: CommandLine,
    /// Deadline for the restart and the wait together.
    pub timeout: Duration,
}

/// How readiness was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeMethod {
    /// `ctr version` succeeded.
    Ctr,
    /// An HTTP/2 handshake on the socket succeeded (`ctr` was not found).
    Handshake,
}

/// What the restart did.
#[derive(Debug, Clone)]
pub struct RestartReport {
    /// The command that restarted containerd.
    pub command: String,
    /// How readiness was checked.
    pub probe: ProbeMethod,
    /// Time from the restart to the first good answer.
    pub elapsed: Duration,
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Restarts containerd and waits until it answers on its socket.
pub fn restart_containerd(opts: &RestartOptions) -> Result<RestartReport, InstallError> {
    let started = Instant::now();
    let deadline = started + opts.timeout;
    let (cmd, shown) = match &opts.restart_command {
        Some(line) => {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(line);
            (cmd, line.clone())
        }
        None if Path::new("/run/systemd/system").is_dir() => {
            let mut cmd = Command::new("systemctl");
            cmd.args(["restart", "containerd"]);
            (cmd, "systemctl restart containerd".to_owned())
        }
        None => return Err(InstallError::NoRestartMethod),
    };
    let failed = |reason: String| InstallError::RestartFailed {
        command: shown.clone(),
        reason,
    };
    let finished = command::run(cmd, remaining(deadline)).map_err(|e| failed(e.to_string()))?;
    if !finished.status.success() {
        let output = format!("{}{}", finished.stderr, finished.stdout);
        return Err(failed(format!("{}: {}", finished.status, output.trim())));
    }
    let probe = wait_until_ready(opts, deadline)?;
    Ok(RestartReport {
        command: shown,
        probe,
        elapsed: started.elapsed(),
    })
}

enum ProbeError {
    CtrMissing,
    NotReady(String),
}

/// Polls containerd until it answers or the deadline passes.
pub(crate) fn wait_until_ready(
    opts: &RestartOptions,
    deadline: Instant,
) -> Result<ProbeMethod, InstallError> {
    let mut method = ProbeMethod::Ctr;
    let mut last_error;
    loop {
        let result = match method {
            ProbeMethod::Ctr => probe_ctr(&opts.ctr, &opts.containerd_address, deadline),
            ProbeMethod::Handshake => probe_handshake(&opts.containerd_address),
        };
        match result {
            Ok(()) => return Ok(method),
            Err(ProbeError::CtrMissing) => {
                method = ProbeMethod::Handshake;
                continue;
            }
            Err(ProbeError::NotReady(reason)) => last_error = reason,
        }
        if Instant::now() >= deadline {
            return Err(InstallError::ContainerdNotReady {
                address: opts.containerd_address.clone(),
                timeout: opts.timeout,
                last_error,
            });
        }
        thread::sleep(Duration::from_millis(250).min(remaining(deadline)));
    }
}

fn probe_ctr(ctr: &CommandLine, address: &Path, deadline: Instant) -> Result<(), ProbeError> {
    let address = address.display().to_string();
    let cmd = ctr.command(&["--address", &address, "--connect-timeout", "2s", "version"]);
    // A daemon that accepts but never answers must not eat the whole deadline in one probe.
    let budget = remaining(deadline).clamp(Duration::from_millis(500), Duration::from_secs(10));
    match command::run(cmd, budget) {
        Ok(done) if done.status.success() => Ok(()),
        Ok(done) => Err(ProbeError::NotReady(format!(
            "ctr version: {}",
            done.stderr.trim()
        ))),
        Err(RunError::NotFound) => Err(ProbeError::CtrMissing),
        Err(e) => Err(ProbeError::NotReady(format!("ctr version: {e}"))),
    }
}

/// HTTP/2 client preface followed by an empty SETTINGS frame.
const CLIENT_PREFACE: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
const FRAME_TYPE_SETTINGS: u8 = 0x4;

fn probe_handshake(address: &Path) -> Result<(), ProbeError> {
    let not_ready = |what: &str, e: std::io::Error| {
        ProbeError::NotReady(format!("{what} {}: {e}", address.display()))
    };
    let mut stream = UnixStream::connect(address).map_err(|e| not_ready("connect to", e))?;
    let timeout = Some(Duration::from_secs(2));
    stream
        .set_read_timeout(timeout)
        .and_then(|()| stream.set_write_timeout(timeout))
        .map_err(|e| not_ready("configure", e))?;
    stream
        .write_all(CLIENT_PREFACE)
        .map_err(|e| not_ready("write to", e))?;
    let mut header = [0u8; 9];
    stream
        .read_exact(&mut header)
        .map_err(|e| not_ready("read from", e))?;
    if header[3] == FRAME_TYPE_SETTINGS {
        Ok(())
    } else {
        Err(ProbeError::NotReady(format!(
            "{} answered the HTTP/2 preface with frame type {} instead of SETTINGS",
            address.display(),
            header[3]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn options(dir: &Path, ctr: &str) -> Result<RestartOptions, InstallError> {
        Ok(RestartOptions {
            restart_command: Some("true".to_owned()),
            containerd_address: dir.join("containerd.sock"),
            ctr: ctr.parse()?,
            timeout: Duration::from_secs(5),
        })
    }

    #[test]
    fn handshake_probe_accepts_an_http2_server() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let opts = options(dir.path(), "/nonexistent/ctr")?;
        let listener = UnixListener::bind(&opts.containerd_address)?;
        let server = thread::spawn(move || -> std::io::Result<()> {
            let (mut conn, _) = listener.accept()?;
            let mut preface = [0u8; 33];
            conn.read_exact(&mut preface)?;
            conn.write_all(&[0, 0, 0, FRAME_TYPE_SETTINGS, 0, 0, 0, 0, 0])
        });
        let report = restart_containerd(&opts)?;
        assert_eq!(report.probe, ProbeMethod::Handshake);
        server.join().map_err(|_| "server thread panicked")??;
        Ok(())
    }

    #[test]
    fn gives_up_after_the_timeout() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut opts = options(dir.path(), "/nonexistent/ctr")?;
        opts.timeout = Duration::from_millis(600);
        let err = restart_containerd(&opts);
        assert!(
            matches!(err, Err(InstallError::ContainerdNotReady { .. })),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn a_failing_restart_command_is_reported() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut opts = options(dir.path(), "true")?;
        opts.restart_command = Some("echo boom >&2; exit 3".to_owned());
        match restart_containerd(&opts) {
            Err(InstallError::RestartFailed { reason, .. }) => assert!(reason.contains("boom")),
            other => panic!("expected RestartFailed, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn ctr_success_means_ready() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        // `true` ignores its arguments and succeeds, like a ctr that reached containerd.
        let report = restart_containerd(&options(dir.path(), "true")?)?;
        assert_eq!(report.probe, ProbeMethod::Ctr);
        Ok(())
    }
}
