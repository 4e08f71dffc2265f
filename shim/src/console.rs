//! Terminals: runc's console socket, the pty master it hands over, and
//! copying between the pty and containerd's FIFOs.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::PathBuf,
};

use log::warn;
use nix::{
    cmsg_space,
    sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr},
};
use tokio::net::UnixListener;

use crate::{
    errors::{other, Result},
    io::{copy_to_fifo, open_stdin, Copiers, Stdio},
};

/// A unix socket runc connects to in order to pass the pty master.
pub struct ConsoleSocket {
    listener: UnixListener,
    dir: PathBuf,
    pub path: PathBuf,
}

impl ConsoleSocket {
    pub fn new() -> Result<Self> {
        let base =
            std::env::var_os("XDG_RUNTIME_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let dir = tempfile::Builder::new()
            .prefix("blackbox-pty")
            .tempdir_in(base)
            .map_err(|e| other(format!("create console socket dir: {e}")))?
            .keep();
        let path = dir.join("pty.sock");
        let listener = UnixListener::bind(&path)
            .map_err(|e| other(format!("bind console socket {}: {e}", path.display())))?;
        Ok(Self {
            listener,
            dir,
            path,
        })
    }

    /// Receives the pty master runc sent, then removes the socket.
    pub async fn receive_master(self) -> Result<OwnedFd> {
        let result = async {
            let (stream, _) = self
                .listener
                .accept()
                .await
                .map_err(|e| other(format!("accept on console socket: {e}")))?;
            let stream = stream
                .into_std()
                .map_err(|e| other(format!("console socket: {e}")))?;
            stream
                .set_nonblocking(false)
                .map_err(|e| other(format!("console socket: {e}")))?;
            tokio::task::spawn_blocking(move || receive_fd(stream.as_raw_fd()))
                .await
                .map_err(|e| other(format!("console socket: {e}")))?
        }
        .await;
        self.remove();
        result
    }

    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            warn!("remove console socket dir {}: {e}", self.dir.display());
        }
    }
}

fn receive_fd(socket: std::os::fd::RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = cmsg_space!([std::os::fd::RawFd; 2]);
    let msg = recvmsg::<UnixAddr>(socket, &mut iov, Some(&mut space), MsgFlags::empty())
        .map_err(|e| other(format!("receive pty master: {e}")))?;
    let cmsgs = msg
        .cmsgs()
        .map_err(|e| other(format!("receive pty master: {e}")))?;
    for cmsg in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            let mut owned = fds
                .into_iter()
                // SAFETY: SCM_RIGHTS installed these descriptors in this
                // process just now; nothing else owns them.
                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
            if let Some(first) = owned.next() {
                return Ok(first);
            }
        }
    }
    Err(other("runc sent no pty master on the console socket"))
}

/// Copies stdin FIFO → pty and pty → stdout FIFO. Returns the copiers.
pub async fn start_copying(master: &OwnedFd, stdio: &Stdio) -> Result<Copiers> {
    let mut copiers = Copiers::default();
    if !stdio.stdin.is_empty() {
        let to_pty = tokio::fs::File::from_std(dup_file(master)?);
        let fifo = open_stdin(&stdio.stdin)?;
        copiers.stdin_keepalive = Some(fifo.keepalive);
        tokio::spawn(async move {
            let (mut from, mut to) = (fifo.reader, to_pty);
            let _ = tokio::io::copy(&mut from, &mut to).await;
        });
    }
    if !stdio.stdout.is_empty() {
        let from_pty = tokio::fs::File::from_std(dup_file(master)?);
        copiers
            .outputs
            .push(copy_to_fifo(from_pty, &stdio.stdout).await?);
    }
    Ok(copiers)
}

fn dup_file(fd: &OwnedFd) -> Result<std::fs::File> {
    let dup = fd
        .try_clone()
        .map_err(|e| other(format!("dup pty master: {e}")))?;
    Ok(std::fs::File::from(dup))
}

/// Sets the pty's window size.
pub fn resize(master: &OwnedFd, width: u32, height: u32) -> Result<()> {
    let size = libc::winsize {
        ws_row: u16::try_from(height).unwrap_or(u16::MAX),
        ws_col: u16::try_from(width).unwrap_or(u16::MAX),
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which lives
    // for the duration of the call.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    if rc < 0 {
        return Err(other(format!(
            "resize pty: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}
