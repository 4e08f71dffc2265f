//! Every byte a short process writes reaches the client: many `ctr run --rm` containers and
//! `ctr task exec` processes that write a burst to stdout and stderr and exit at once. Output
//! lost while the task exits (the client deleting the task before the shim's copy drained)
//! shows up here as a missing tail.

use std::time::Duration;

use anyhow::{ensure, Result};
use blackbox_integration::{Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("ctr", "run_output_drained", run_output_drained),
        Case::new("ctr", "exec_output_drained", exec_output_drained),
    ]
}

/// How many short processes each check starts (`BBIT_DRAIN_RUNS` overrides, to measure a
/// failure rate).
fn runs() -> usize {
    std::env::var("BBIT_DRAIN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// Writes `seq 1 3000` (13,893 bytes) to stdout, `seq 1 1000` to stderr, a marker line to
/// each, and exits at once: the tail is still in the pipes when the process is reaped.
const BURST: &str = "dd if=/dev/zero of=/dev/null bs=1 count=300000 2>/dev/null; seq 1 3000; seq 1 1000 >&2; echo last-out; echo last-err >&2";

fn expected() -> (String, String) {
    let mut out: String = (1..=3000).map(|i| format!("{i}\n")).collect();
    out.push_str("last-out\n");
    let mut err: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    err.push_str("last-err\n");
    (out, err)
}

/// What went wrong with one run, or nothing.
fn compare(what: &str, got_out: &str, got_err: &str) -> Option<String> {
    let (out, err) = expected();
    let mut problems = Vec::new();
    for (stream, got, want) in [("stdout", got_out, &out), ("stderr", got_err, &err)] {
        if got != want.as_str() {
            problems.push(format!(
                "{stream}: {} of {} bytes, ends {:?}",
                got.len(),
                want.len(),
                &got[got.len().saturating_sub(24)..]
            ));
        }
    }
    (!problems.is_empty()).then(|| format!("{what}: {}", problems.join("; ")))
}

fn run_output_drained(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("rundrain", rt)?;
    let ctr = ns.ctr();
    let total = runs();
    let mut lost = Vec::new();
    for i in 0..total {
        let id = format!("burst{i}");
        let out = ctr
            .run(rt, &id, &["--rm"], &["sh", "-c", BURST], None)?
            .ok()?;
        lost.extend(compare(&id, &out.stdout, &out.stderr));
    }
    ensure!(
        lost.is_empty(),
        "{} of {total} `ctr run --rm` lost output:\n{}",
        lost.len(),
        lost.join("\n")
    );
    Ok(())
}

fn exec_output_drained(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("execdrain", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(rt, "box", &[], &["sleep", "1000"])?;
    ctr.wait_status("box", "RUNNING", Duration::from_secs(10))?;
    let total = runs();
    let mut lost = Vec::new();
    for i in 0..total {
        let exec_id = format!("burst{i}");
        let out = ctr.exec("box", &exec_id, &[], &["sh", "-c", BURST])?.ok()?;
        lost.extend(compare(&exec_id, &out.stdout, &out.stderr));
    }
    ensure!(
        lost.is_empty(),
        "{} of {total} `ctr task exec` lost output:\n{}",
        lost.len(),
        lost.join("\n")
    );
    Ok(())
}
