//! The `file://` and `binary://` stdio URIs containerd passes for logging
//! (`ctr run --log-uri`, or a client's `cio.LogURI`), as runc's shim
//! supports them.

use std::{
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::{fs::OpenOptionsExt, process::CommandExt},
    },
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use containerd_shim::{asynchronous::monitor::monitor_subscribe, monitor::Topic};
use log::warn;
use tokio::{io::AsyncReadExt, net::unix::pipe, task::JoinHandle};

use crate::{
    errors::{other, Result},
    runc_exec::wait_for_exit,
};

/// How long a logging binary has to say it is ready (runc's shim: 10 s).
const LOGGER_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating it and its directory) the log file for appending.
pub fn open_log_file(path: &Path) -> Result<std::fs::File> {
    if !path.is_absolute() {
        return Err(other(format!(
            "log file {} must be an absolute path",
            path.display()
        )));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| other(format!("create log directory {}: {e}", dir.display())))?;
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| other(format!("open log file {}: {e}", path.display())))
}

/// `a=1&b` → `["a", "1", "b"]`, the arguments containerd's convention gives
/// a logging binary.
pub fn query_args(query: &str) -> Vec<String> {
    let mut args = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        args.push(k.to_string());
        if !v.is_empty() {
            args.push(v.to_string());
        }
    }
    args
}

/// Starts a logging binary with the process's stdout on fd 3, stderr on
/// fd 4 and a readiness pipe on fd 5 it closes once it is ready. The
/// returned task ends when the logger exits.
pub async fn start_logging_binary(
    path: &Path,
    args: &[String],
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    container_id: &str,
    namespace: &str,
) -> Result<JoinHandle<()>> {
    let devnull = || {
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|e| other(format!("open /dev/null: {e}")))
    };
    let out = stdout.map_or_else(devnull, Ok)?;
    let err = stderr.map_or_else(devnull, Ok)?;
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| other(format!("logger readiness pipe: {e}")))?;
    let fds = [out.as_raw_fd(), err.as_raw_fd(), ready_w.as_raw_fd()];
    let mut cmd = Command::new(path);
    cmd.args(args)
        .env("CONTAINER_ID", container_id)
        .env("CONTAINER_NAMESPACE", namespace)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only dup2 runs between fork and exec; it is async-signal-safe
    // and the descriptors stay open in the parent until spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            for (target, fd) in (3..).zip(fds) {
                if libc::dup2(fd, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let exits = monitor_subscribe(Topic::Pid)
        .await
        .map_err(|e| other(format!("watch logger exit: {e}")))?;
    let child = cmd
        .spawn()
        .map_err(|e| other(format!("start logging binary {}: {e}", path.display())))?;
    let pid = child.id();
    // The child has its copies; ours must go so the pipes can reach EOF.
    drop((out, err, ready_w));
    let mut ready = pipe::Receiver::from_owned_fd(ready_r)
        .map_err(|e| other(format!("logger readiness pipe: {e}")))?;
    let mut sink = Vec::new();
    if tokio::time::timeout(LOGGER_READY_TIMEOUT, ready.read_to_end(&mut sink))
        .await
        .is_err()
    {
        warn!(
            "logging binary {} did not signal readiness within {LOGGER_READY_TIMEOUT:?}",
            path.display()
        );
    }
    Ok(tokio::spawn(async move {
        let status = wait_for_exit(pid, exits).await;
        if status != 0 {
            warn!("logging binary (pid {pid}) exited with status {status}");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_becomes_arguments() {
        assert_eq!(query_args(""), Vec::<String>::new());
        assert_eq!(query_args("a=1&b&c=x"), vec!["a", "1", "b", "c", "x"]);
    }

    #[test]
    fn log_file_is_created_with_its_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/c.log");
        open_log_file(&path).expect("open");
        assert!(path.exists());
        assert!(open_log_file(Path::new("relative.log")).is_err());
    }
}
