//! Freezing and thawing a container.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![Case::new("ctr", "pause_resume", pause_resume)]
}

/// The freezer's view of cgroup `cg`: "FROZEN"/"THAWED" (v1) or "1"/"0" (v2 cgroup.freeze).
fn freezer_state(cg: &str) -> String {
    let rel = cg.trim_start_matches('/');
    let v1 = Path::new("/sys/fs/cgroup/freezer")
        .join(rel)
        .join("freezer.state");
    let v2 = Path::new("/sys/fs/cgroup").join(rel).join("cgroup.freeze");
    std::fs::read_to_string(v1)
        .or_else(|_| std::fs::read_to_string(v2))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn pause_resume(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("pause", rt)?;
    let ctr = ns.ctr();
    let cg = ns.cgroup_of("box");
    ctr.run_detached(rt, "box", &[], &["sleep", "1000"])?;
    ctr.wait_status("box", "RUNNING", Duration::from_secs(10))?;
    ctr.ok(&["task", "pause", "box"])?;
    ensure!(
        ctr.task_status("box")? == "PAUSED",
        "status after pause: {}",
        ctr.task_status("box")?
    );
    let frozen = freezer_state(&cg);
    ensure!(
        frozen == "FROZEN" || frozen == "1",
        "freezer state while paused: {frozen:?}"
    );
    ctr.ok(&["task", "resume", "box"])?;
    ensure!(
        ctr.task_status("box")? == "RUNNING",
        "status after resume: {}",
        ctr.task_status("box")?
    );
    let thawed = freezer_state(&cg);
    ensure!(
        thawed == "THAWED" || thawed == "0",
        "freezer state after resume: {thawed:?}"
    );
    let out = ctr.exec("box", "after", &[], &["echo", "thawed"])?.ok()?;
    ensure!(
        out.stdout == "thawed\n",
        "exec after resume printed {:?}",
        out.stdout
    );
    Ok(())
}
