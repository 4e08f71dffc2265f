//! Running a program on a pseudo-terminal, as a person at a terminal would (`ctr run -t`).

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::pty::{openpty, Winsize};

/// What a program printed on its terminal and how it exited.
#[derive(Debug)]
pub struct PtyOutput {
    pub code: i32,
    /// Everything written to the terminal (with the terminal's \r\n line ends).
    pub screen: String,
}

/// Runs `cmd` as the session leader of a new 24x80 pty and collects the screen until it exits.
pub fn run_on_pty(mut cmd: Command, timeout: Duration) -> Result<PtyOutput> {
    let size = Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).context("openpty")?;
    let slave: OwnedFd = pty.slave;
    cmd.stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave.try_clone()?));
    // SAFETY: between fork and exec we only call async-signal-safe functions (setsid, ioctl).
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let shown = crate::cmd::display(&cmd);
    let mut child = cmd.spawn().with_context(|| format!("spawning `{shown}`"))?;
    drop(cmd);
    drop(slave);
    let mut master = File::from(pty.master);
    let screen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&screen);
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        // read fails with EIO once the last slave fd is closed.
        while let Ok(n) = master.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(&chunk[..n]);
        }
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{shown}` on a pty did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever still holds the slave side (nothing, normally) must not hang us.
    let drain_deadline = Instant::now() + Duration::from_secs(2);
    while !reader.is_finished() && Instant::now() < drain_deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let screen = String::from_utf8_lossy(
        &screen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(PtyOutput { code, screen })
}
