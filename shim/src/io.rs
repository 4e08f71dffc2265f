//! A process's stdio: pipes to runc, copied to and from containerd's FIFOs.
//!
//! As containerd's runc shim does, the container gets pipes, not the FIFOs
//! themselves, and the shim copies between them. An output FIFO's write end
//! is opened once the client has opened its read end (as runc's shim does),
//! so no output is copied before someone reads it; the shim then also keeps
//! a read end open, so a container writing while containerd restarts never
//! meets a FIFO without a reader (EPIPE/SIGPIPE).

use std::{fs::OpenOptions, os::fd::OwnedFd, sync::Mutex, time::Duration};

use async_trait::async_trait;
use log::warn;
use runc::io::Io;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::unix::pipe,
    task::JoinHandle,
};

use crate::{
    errors::{other, Result},
    log_uri,
};

/// The FIFO paths containerd gave for a process (empty: not wanted).
#[derive(Debug, Clone, Default)]
pub struct Stdio {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// The copying tasks of one process's output; waited for before Delete
/// answers, so `ctr` and the CRI see every byte the process wrote.
#[derive(Default)]
pub struct Copiers {
    pub outputs: Vec<JoinHandle<()>>,
    /// The shim's own write end of the stdin FIFO, dropped by CloseIO.
    pub stdin_keepalive: Option<std::fs::File>,
}

impl Copiers {
    /// Waits up to `limit` for the output copies to drain (as containerd's
    /// shim does, a process that leaked its stdout to a daemon must not
    /// block Delete forever).
    pub async fn drain(&mut self, limit: Duration) {
        let all = futures_join(std::mem::take(&mut self.outputs));
        if tokio::time::timeout(limit, all).await.is_err() {
            warn!("stdio copy did not finish within {limit:?}");
        }
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// Pipes between the shim and a non-terminal process.
///
/// The container gets one end of each pipe (through runc, which passes its
/// stdio on); the shim keeps the other. Written here rather than taken from
/// the `runc` crate, whose pipe io hands stderr to the child as stdout and
/// closes descriptors it does not own.
#[derive(Debug)]
pub struct ShimIo {
    /// The ends given to runc; dropped once runc has started the process.
    child: Mutex<ChildEnds>,
    /// The ends the shim copies from/to.
    shim: Mutex<ShimEnds>,
}

#[derive(Debug, Default)]
struct ChildEnds {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
}

#[derive(Debug, Default)]
pub struct ShimEnds {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

impl ShimIo {
    /// Pipes for each stdio stream containerd asked for; /dev/null for the
    /// others, so the process never inherits the shim's own descriptors.
    pub fn new(stdio: &Stdio, uid: u32, gid: u32) -> Result<Self> {
        let mut child = ChildEnds::default();
        let mut shim = ShimEnds::default();
        if !stdio.stdin.is_empty() {
            let (rd, wr) = new_pipe(uid, gid)?;
            child.stdin = Some(rd);
            shim.stdin = Some(wr);
        }
        if !stdio.stdout.is_empty() {
            let (rd, wr) = new_pipe(uid, gid)?;
            child.stdout = Some(wr);
            shim.stdout = Some(rd);
        }
        if !stdio.stderr.is_empty() {
            let (rd, wr) = new_pipe(uid, gid)?;
            child.stderr = Some(wr);
            shim.stderr = Some(rd);
        }
        Ok(Self {
            child: Mutex::new(child),
            shim: Mutex::new(shim),
        })
    }

    /// The shim's ends, taken once to start copying.
    pub fn take_shim_ends(&self) -> ShimEnds {
        self.shim
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

fn new_pipe(uid: u32, gid: u32) -> Result<(OwnedFd, OwnedFd)> {
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| other(format!("create stdio pipe: {e}")))?;
    for fd in [&rd, &wr] {
        nix::unistd::fchown(
            fd,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        )
        .map_err(|e| other(format!("chown stdio pipe to {uid}:{gid}: {e}")))?;
    }
    Ok((rd, wr))
}

fn child_stdio(end: Option<&OwnedFd>) -> std::io::Result<std::process::Stdio> {
    match end {
        Some(fd) => Ok(std::process::Stdio::from(fd.try_clone()?)),
        None => Ok(std::process::Stdio::from(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")?,
        )),
    }
}

#[async_trait]
impl Io for ShimIo {
    async fn set(&self, cmd: &mut runc::Command) -> std::io::Result<()> {
        let child = self
            .child
            .lock()
            .map_err(|_| std::io::Error::other("stdio lock poisoned"))?;
        cmd.stdin(child_stdio(child.stdin.as_ref())?);
        cmd.stdout(child_stdio(child.stdout.as_ref())?);
        cmd.stderr(child_stdio(child.stderr.as_ref())?);
        Ok(())
    }

    async fn close_after_start(&self) {
        // runc passed them on to the container; the shim's copies must go or
        // the output pipes never reach EOF.
        if let Ok(mut child) = self.child.lock() {
            *child = ChildEnds::default();
        }
    }
}

/// The stdin FIFO, opened for reading without waiting for containerd's
/// writer, plus a write end the shim holds until CloseIO: the copy into the
/// container only sees EOF once containerd has closed its end *and* asked
/// the shim to close its own.
pub struct StdinFifo {
    pub reader: pipe::Receiver,
    pub keepalive: std::fs::File,
}

pub fn open_stdin(path: &str) -> Result<StdinFifo> {
    use std::os::unix::fs::OpenOptionsExt;
    let reader = pipe::OpenOptions::new()
        .open_receiver(path)
        .map_err(|e| other(format!("open {path}: {e}")))?;
    let keepalive = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| other(format!("open {path} for writing: {e}")))?;
    Ok(StdinFifo { reader, keepalive })
}

/// Starts copying between the shim's pipe ends and where containerd wants
/// the output: its FIFOs, a `file://` log, or a `binary://` logging program.
pub async fn start_copying(
    io: &ShimIo,
    stdio: &Stdio,
    container_id: &str,
    namespace: &str,
) -> Result<Copiers> {
    let ends = io.take_shim_ends();
    let mut copiers = Copiers::default();
    if let Some(pipe) = ends.stdin {
        let fifo = open_stdin(&stdio.stdin)?;
        copiers.stdin_keepalive = Some(fifo.keepalive);
        let to =
            pipe::Sender::from_owned_fd(pipe).map_err(|e| other(format!("stdin pipe: {e}")))?;
        tokio::spawn(copy(fifo.reader, to, None));
    }
    match OutputUri::parse(&stdio.stdout)? {
        OutputUri::Fifo => {
            for (end, path) in [(ends.stdout, &stdio.stdout), (ends.stderr, &stdio.stderr)] {
                if let Some(pipe) = end {
                    let from = pipe::Receiver::from_owned_fd(pipe)
                        .map_err(|e| other(format!("output pipe: {e}")))?;
                    copiers
                        .outputs
                        .push(copy_to_fifo(from, strip_fifo_scheme(path)).await?);
                }
            }
        }
        OutputUri::File(path) => {
            let file = log_uri::open_log_file(&path)?;
            for pipe in [ends.stdout, ends.stderr].into_iter().flatten() {
                let from = pipe::Receiver::from_owned_fd(pipe)
                    .map_err(|e| other(format!("output pipe: {e}")))?;
                let to = tokio::fs::File::from_std(
                    file.try_clone()
                        .map_err(|e| other(format!("log file {}: {e}", path.display())))?,
                );
                copiers.outputs.push(tokio::spawn(copy(from, to, None)));
            }
        }
        OutputUri::Binary { path, args } => {
            let logger = log_uri::start_logging_binary(
                &path,
                &args,
                ends.stdout,
                ends.stderr,
                container_id,
                namespace,
            )
            .await?;
            copiers.outputs.push(logger);
        }
    }
    Ok(copiers)
}

fn strip_fifo_scheme(path: &str) -> &str {
    path.strip_prefix("fifo://").unwrap_or(path)
}

/// Where a process's output goes, from containerd's stdout string.
#[derive(Debug, PartialEq, Eq)]
pub enum OutputUri {
    /// A FIFO path (plain, or `fifo://`): containerd reads it.
    Fifo,
    /// `file:///path`: appended to a file, stdout and stderr together.
    File(std::path::PathBuf),
    /// `binary:///path?arg=value`: a logging program reads fds 3 and 4.
    Binary {
        path: std::path::PathBuf,
        args: Vec<String>,
    },
}

impl OutputUri {
    pub fn parse(stdout: &str) -> Result<Self> {
        let Some((scheme, rest)) = stdout.split_once("://") else {
            return Ok(OutputUri::Fifo);
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        match scheme {
            "fifo" => Ok(OutputUri::Fifo),
            "file" => Ok(OutputUri::File(path.into())),
            "binary" => Ok(OutputUri::Binary {
                path: path.into(),
                args: log_uri::query_args(query),
            }),
            other_scheme => Err(crate::errors::invalid(format!(
                "unsupported stdio URI scheme {other_scheme:?} in {stdout:?}"
            ))),
        }
    }
}

/// How long the shim waits for the client to open an output FIFO for
/// reading before copying without it (runc's shim waits for as long as the
/// request lasts; a client that went away must not wedge the shim, which
/// holds the containers lock meanwhile).
const CLIENT_READER_WAIT: Duration = Duration::from_secs(10);

/// Copies a process output to a FIFO, holding a read end of the FIFO open so
/// the copy survives containerd restarting.
///
/// As runc's shim does, the write end is opened first, which waits until the
/// client (ctr, the CRI plugin) has opened its read end: only then is a byte
/// of the process's output copied. Opening the shim's own read end first
/// would let the write end open at once, and a short process could have
/// written everything and the copy closed both ends before a slow client
/// opened its end: the FIFO, and all the output, would be gone.
pub async fn copy_to_fifo<R>(from: R, fifo: &str) -> Result<JoinHandle<()>>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let (writer, keep_open) = open_output_fifo(fifo, CLIENT_READER_WAIT).await?;
    let to = pipe::Sender::from_file(writer).map_err(|e| other(format!("open {fifo}: {e}")))?;
    Ok(tokio::spawn(copy(from, to, Some(keep_open))))
}

/// The write end of an output FIFO, opened once the client reads it (or
/// after `wait` without it), and the shim's own read end.
async fn open_output_fifo(path: &str, wait: Duration) -> Result<(std::fs::File, std::fs::File)> {
    let owned = path.to_string();
    let mut opening =
        tokio::task::spawn_blocking(move || OpenOptions::new().write(true).open(owned));
    let in_time = tokio::time::timeout(wait, &mut opening).await;
    // Once the write end is open this cannot block; after the wait it also
    // lets the blocked open above complete.
    let keep_open = open_fifo_read_nonblocking(path)?;
    let opened = match in_time {
        Ok(opened) => opened,
        Err(_) => {
            warn!("no reader opened {path} within {wait:?}; copying without one");
            opening.await
        }
    };
    let writer = opened
        .map_err(|e| other(format!("open {path}: {e}")))?
        .map_err(|e| other(format!("open {path}: {e}")))?;
    Ok((writer, keep_open))
}

fn open_fifo_read_nonblocking(path: &str) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| other(format!("open {path}: {e}")))
}

async fn copy<R, W>(mut from: R, mut to: W, keep_open: Option<std::fs::File>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if let Err(e) = tokio::io::copy(&mut from, &mut to).await {
        // EIO is how a pty master says all its slaves are closed.
        if e.raw_os_error() != Some(libc::EIO) {
            warn!("stdio copy stopped: {e}");
        }
    }
    drop(keep_open);
}

#[cfg(test)]
mod tests {
    use std::{io::Read, time::Duration};

    use super::{copy_to_fifo, open_output_fifo, OutputUri};

    fn fifo_in(dir: &tempfile::TempDir) -> String {
        let path = dir.path().join("out");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        path.to_string_lossy().into_owned()
    }

    /// A client that opens its end late still gets everything a process
    /// wrote and exited before: the copy waits for it.
    #[tokio::test]
    async fn output_waits_for_a_late_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = fifo_in(&dir);
        let (mut child_end, shim_end) = tokio::net::unix::pipe::pipe().expect("pipe");
        let data: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        // The "process" writes everything and exits before anyone reads.
        let writer = {
            let data = data.clone();
            tokio::spawn(async move {
                tokio::io::AsyncWriteExt::write_all(&mut child_end, &data)
                    .await
                    .expect("write");
            })
        };
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut got = Vec::new();
            std::fs::File::open(reader_path)
                .expect("open for reading")
                .read_to_end(&mut got)
                .expect("read");
            got
        });
        let copier = copy_to_fifo(shim_end, &fifo).await.expect("copy");
        writer.await.expect("writer");
        copier.await.expect("copier");
        let got = tokio::task::spawn_blocking(move || reader.join().expect("reader"))
            .await
            .expect("join");
        assert_eq!(got.len(), data.len());
        assert!(got == data);
    }

    /// Without any reader the copy starts anyway after the wait.
    #[tokio::test]
    async fn output_does_not_wait_forever() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = fifo_in(&dir);
        let opened = tokio::time::timeout(
            Duration::from_secs(5),
            open_output_fifo(&fifo, Duration::from_millis(100)),
        )
        .await
        .expect("bounded");
        assert!(opened.is_ok());
    }

    #[test]
    fn output_uris_are_told_apart() {
        assert_eq!(
            OutputUri::parse("/run/fifo/x-stdout").expect("ok"),
            OutputUri::Fifo
        );
        assert_eq!(
            OutputUri::parse("fifo:///run/x").expect("ok"),
            OutputUri::Fifo
        );
        assert_eq!(
            OutputUri::parse("file:///var/log/c.log").expect("ok"),
            OutputUri::File("/var/log/c.log".into())
        );
        assert_eq!(
            OutputUri::parse("binary:///usr/bin/logger?id=7&debug").expect("ok"),
            OutputUri::Binary {
                path: "/usr/bin/logger".into(),
                args: vec!["id".into(), "7".into(), "debug".into()]
            }
        );
        assert!(OutputUri::parse("tcp://1.2.3.4:5").is_err());
    }
}
