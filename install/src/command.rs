//! Running helper programs (`containerd --version`, `ctr version`, the restart command) with a
//! deadline: a wedged containerd must not hang the installer, and therefore the node bootstrap.

use std::fmt;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::InstallError;

/// A program and its leading arguments, given on the command line as one whitespace-separated
/// string (no shell quoting), e.g. `nsenter --target 1 --mount -- containerd`. The prefix form
/// lets the DaemonSet run the host's tools from inside its container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    argv: Vec<String>,
}

impl CommandLine {
    /// A command line that is just `program`.
    pub fn program(program: &str) -> Self {
        Self {
            argv: vec![program.to_owned()],
        }
    }

    /// The program followed by `args`.
    pub(crate) fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let mut argv = self.argv.iter();
        // `from_str` guarantees at least one element.
        let mut cmd = Command::new(argv.next().map(String::as_str).unwrap_or_default());
        cmd.args(argv);
        cmd.args(args.iter().map(AsRef::as_ref));
        cmd
    }
}

impl FromStr for CommandLine {
    type Err = InstallError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let argv: Vec<String> = s.split_whitespace().map(str::to_owned).collect();
        if argv.is_empty() {
            return Err(InstallError::InvalidOption {
                what: "command",
                reason: "empty command line".to_owned(),
            });
        }
        Ok(Self { argv })
    }
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.argv.join(" "))
    }
}

/// What a finished command left behind.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Why a command did not finish.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The program does not exist.
    NotFound,
    /// It could not be started for another reason.
    Spawn(std::io::Error),
    /// It ran past the deadline and was killed.
    TimedOut,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::NotFound => f.write_str("program not found"),
            RunError::Spawn(e) => write!(f, "cannot start: {e}"),
            RunError::TimedOut => f.write_str("timed out"),
        }
    }
}

fn drain(mut pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.read_to_end(&mut out);
        }
        String::from_utf8_lossy(&out).into_owned()
    })
}

fn wait_until(child: &mut Child, deadline: Instant) -> Result<ExitStatus, RunError> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(RunError::Spawn(e)),
        }
    }
}

/// Runs `cmd` with captured output, killing it after `timeout`.
pub(crate) fn run(mut cmd: Command, timeout: Duration) -> Result<Finished, RunError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound,
        _ => RunError::Spawn(e),
    })?;
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_until(&mut child, Instant::now() + timeout);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(Finished {
        status: status?,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_prefix_command_line() -> Result<(), InstallError> {
        let cmd: CommandLine = "nsenter --target 1  --mount -- containerd".parse()?;
        assert_eq!(cmd.to_string(), "nsenter --target 1 --mount -- containerd");
        assert!("   ".parse::<CommandLine>().is_err());
        Ok(())
    }

    #[test]
    fn kills_a_command_past_its_deadline() {
        let mut cmd = Command::new("sleep");
        cmd.arg("5");
        let started = Instant::now();
        assert!(matches!(
            run(cmd, Duration::from_millis(100)),
            Err(RunError::TimedOut)
        ));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn reports_a_missing_program() {
        let cmd = Command::new("/nonexistent/blackbox-test-program");
        assert!(matches!(
            run(cmd, Duration::from_secs(1)),
            Err(RunError::NotFound)
        ));
    }
}
