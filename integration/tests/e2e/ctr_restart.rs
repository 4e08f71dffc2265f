//! containerd restarted under a running container: the shim keeps the task, containerd finds it
//! again, and its exit status is still exact.

use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![Case::new("ctr", "containerd_restart", containerd_restart).alone()]
}

fn containerd_restart(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("restart", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(
        rt,
        "survivor",
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; while true; do sleep 0.2; done",
        ],
    )?;
    ctr.wait_status("survivor", "RUNNING", Duration::from_secs(10))?;
    let pid = ctr.task_pid("survivor")?;
    env.containerd.restart()?;
    ensure!(
        ctr.task_status("survivor")? == "RUNNING",
        "after the restart the task is {}",
        ctr.task_status("survivor")?
    );
    ensure!(
        ctr.task_pid("survivor")? == pid,
        "the task's pid changed over the restart"
    );
    let out = ctr
        .exec("survivor", "probe", &[], &["echo", "still-here"])?
        .ok()?;
    ensure!(
        out.stdout == "still-here\n",
        "exec after restart printed {:?}",
        out.stdout
    );
    ctr.ok(&["task", "kill", "-s", "SIGTERM", "survivor"])?;
    ctr.wait_status("survivor", "STOPPED", Duration::from_secs(10))?;
    let status = ctr.delete_task("survivor")?;
    ensure!(
        status == 42,
        "exit status after the restart: {status}, expected 42"
    );
    Ok(())
}
