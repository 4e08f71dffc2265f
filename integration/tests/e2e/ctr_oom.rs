//! A process killed by the kernel's OOM killer: the exit status and the TaskOOM event.

use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::ctr::Ctr;
use blackbox_integration::events::EventWatcher;
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![Case::new("ctr", "oom_kill", oom_kill)]
}

/// Runs container `id` (`--rm`) until the OOM killer ends it in a 32 MiB memory limit: `tail`
/// keeps the whole newline-free stream in memory, far more than the limit. ctr exits 137.
pub fn run_hog(ctr: &Ctr<'_>, rt: Runtime, id: &str) -> Result<()> {
    let out = ctr.run(
        rt,
        id,
        &["--rm", "--memory-limit", "33554432"],
        &["sh", "-c", "head -c 300m /dev/zero | tail"],
        None,
    )?;
    ensure!(
        out.code() == 137,
        "OOM-killed task made ctr exit {}: {}",
        out.code(),
        out.stderr
    );
    Ok(())
}

fn oom_kill(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("oom", rt)?;
    let ctr = ns.ctr();
    let events = EventWatcher::start(&ctr)?;
    run_hog(&ctr, rt, "hog")?;
    events.wait_for(
        ctr.namespace(),
        "/tasks/oom",
        Duration::from_secs(10),
        |b| b["container_id"] == "hog",
    )?;
    if rt == Runtime::Blackbox {
        // The archive says so too.
        let layout = &env.containerd.layout;
        let archive =
            blackbox_integration::archive::sealed_archive(&layout.blackbox_archives, "hog")?;
        let info = blackbox_integration::archive::blackbox_cli(&[
            "info",
            &archive.to_string_lossy(),
            "--json",
        ])?;
        let info: serde_json::Value = serde_json::from_slice(&info.stdout)?;
        let text = info.to_string();
        ensure!(
            text.contains("\"oom_killed\":true"),
            "the archive does not say OOM-killed: {text}"
        );
    }
    Ok(())
}
