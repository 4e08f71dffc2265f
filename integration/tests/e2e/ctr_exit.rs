//! Exit statuses: a clean exit, a chosen code, and death by SIGKILL, as ctr and the event
//! stream report them.

use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::events::EventWatcher;
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![Case::new("ctr", "exit_codes", exit_codes)]
}

fn exit_codes(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("exit", rt)?;
    let ctr = ns.ctr();
    let events = EventWatcher::start(&ctr)?;
    for code in [0, 3] {
        let id = format!("exit{code}");
        let script = format!("exit {code}");
        let out = ctr.run(rt, &id, &["--rm"], &["sh", "-c", &script], None)?;
        ensure!(
            out.code() == code,
            "`sh -c '{script}'` made ctr exit {}: {}",
            out.code(),
            out.stderr
        );
        events.wait_for(
            ctr.namespace(),
            "/tasks/exit",
            Duration::from_secs(10),
            |b| {
                b["container_id"] == id.as_str()
                    && b["exit_status"].as_u64().unwrap_or(0) == code as u64
            },
        )?;
    }
    ctr.run_detached(rt, "killed", &[], &["sleep", "1000"])?;
    ctr.wait_status("killed", "RUNNING", Duration::from_secs(10))?;
    ctr.ok(&["task", "kill", "-s", "SIGKILL", "killed"])?;
    ctr.wait_status("killed", "STOPPED", Duration::from_secs(10))?;
    events.wait_for(
        ctr.namespace(),
        "/tasks/exit",
        Duration::from_secs(10),
        |b| b["container_id"] == "killed" && b["exit_status"] == 137,
    )?;
    let status = ctr.delete_task("killed")?;
    ensure!(
        status == 137,
        "SIGKILLed task exited {status}, expected 137"
    );
    Ok(())
}
