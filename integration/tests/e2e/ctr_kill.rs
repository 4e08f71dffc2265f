//! Signals: to one exec'd process, to the init process only, and to every process (`--all`).

use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::cmd::wait_for;
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("ctr", "kill_exec_process", kill_exec_process),
        Case::new("ctr", "kill_all", kill_all),
    ]
}

fn kill_exec_process(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("killexec", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(rt, "box", &[], &["sleep", "1000"])?;
    ctr.wait_status("box", "RUNNING", Duration::from_secs(10))?;
    let out = ctr.exec("box", "long", &["-d"], &["sleep", "999"])?;
    ensure!(out.code() == 0, "exec -d failed: {}", out.stderr);
    wait_for("2 processes", Duration::from_secs(10), || {
        Ok((ctr.task_pids("box")?.len() == 2).then_some(()))
    })?;
    ctr.ok(&["task", "kill", "--exec-id", "long", "-s", "SIGKILL", "box"])?;
    wait_for("the exec'd process to die", Duration::from_secs(10), || {
        Ok((ctr.task_pids("box")?.len() == 1).then_some(()))
    })?;
    ensure!(
        ctr.task_status("box")? == "RUNNING",
        "killing an exec stopped the container"
    );
    Ok(())
}

fn kill_all(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("killall", rt)?;
    let ctr = ns.ctr();
    // pid 1 (sh, no TERM handler) ignores SIGTERM; its two children do not.
    ctr.run_detached(
        rt,
        "box",
        &[],
        &[
            "sh",
            "-c",
            "sleep 1000 & sleep 1001 & wait; exec sleep 1002",
        ],
    )?;
    wait_for("3 processes", Duration::from_secs(10), || {
        Ok((ctr.task_pids("box")?.len() == 3).then_some(()))
    })?;
    ctr.ok(&["task", "kill", "-s", "SIGTERM", "box"])?;
    std::thread::sleep(Duration::from_millis(500));
    let n = ctr.task_pids("box")?.len();
    ensure!(
        n == 3,
        "SIGTERM to init only changed the process count to {n}"
    );
    ctr.ok(&["task", "kill", "--all", "-s", "SIGTERM", "box"])?;
    wait_for(
        "only the init process left",
        Duration::from_secs(10),
        || Ok((ctr.task_pids("box")?.len() == 1).then_some(())),
    )?;
    ensure!(
        ctr.task_status("box")? == "RUNNING",
        "init died on SIGTERM --all"
    );
    ctr.ok(&["task", "kill", "--all", "-s", "SIGKILL", "box"])?;
    ctr.wait_status("box", "STOPPED", Duration::from_secs(10))?;
    let status = ctr.delete_task("box")?;
    ensure!(status == 137, "exit status after SIGKILL --all: {status}");
    Ok(())
}
