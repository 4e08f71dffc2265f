//! Extra processes in a running container: exit code and output of an exec, an exec on a tty.

use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::pty::run_on_pty;
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("ctr", "exec_exit_code", exec_exit_code),
        Case::new("ctr", "exec_tty", exec_tty),
    ]
}

fn exec_exit_code(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("exec", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(rt, "box", &[], &["sleep", "1000"])?;
    ctr.wait_status("box", "RUNNING", Duration::from_secs(10))?;
    let out = ctr.exec(
        "box",
        "e1",
        &[],
        &["sh", "-c", "echo in-exec; echo exec-err >&2; exit 5"],
    )?;
    ensure!(
        out.code() == 5,
        "exec exited {}: {}",
        out.code(),
        out.stderr
    );
    ensure!(out.stdout == "in-exec\n", "exec stdout {:?}", out.stdout);
    ensure!(out.stderr == "exec-err\n", "exec stderr {:?}", out.stderr);
    // The exec id can be reused once the first exec is gone, and a clean exit is 0.
    let out = ctr.exec("box", "e1", &[], &["true"])?;
    ensure!(
        out.code() == 0,
        "second exec exited {}: {}",
        out.code(),
        out.stderr
    );
    // A program that does not exist: the exec fails, the container keeps running.
    let out = ctr.exec("box", "e2", &[], &["/no/such/program"])?;
    ensure!(out.code() != 0, "exec of a missing program succeeded");
    ensure!(
        ctr.task_status("box")? == "RUNNING",
        "container stopped after a failed exec"
    );
    Ok(())
}

fn exec_tty(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("exectty", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(rt, "box", &[], &["sleep", "1000"])?;
    ctr.wait_status("box", "RUNNING", Duration::from_secs(10))?;
    let fifo = env.containerd.layout.fifo_dir.display().to_string();
    let mut c = ctr.command();
    c.args([
        "task",
        "exec",
        "--fifo-dir",
        &fifo,
        "-t",
        "--exec-id",
        "t1",
        "box",
    ])
    .args([
        "sh",
        "-c",
        "tty; sleep 1; stty size; test -t 0 && echo exec-terminal; exit 9",
    ]);
    let out = run_on_pty(c, Duration::from_secs(60))?;
    ensure!(
        out.code == 9,
        "exec -t exited {}; screen {:?}",
        out.code,
        out.screen
    );
    ensure!(
        out.screen.contains("/dev/pts/"),
        "no pts in {:?}",
        out.screen
    );
    ensure!(
        out.screen.contains("24 80"),
        "terminal size not 24x80: {:?}",
        out.screen
    );
    ensure!(
        out.screen.contains("exec-terminal\r"),
        "stdin not a tty: {:?}",
        out.screen
    );
    Ok(())
}
