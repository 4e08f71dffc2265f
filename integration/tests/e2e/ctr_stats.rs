//! What the shim reports about a running container: its processes, its metrics, and a memory
//! limit changed while it runs.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use blackbox_integration::cmd::wait_for;
use blackbox_integration::grpc::update_task_resources;
use blackbox_integration::{Env, Runtime};
use serde_json::{json, Value};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("ctr", "pids", pids),
        Case::new("ctr", "metrics", metrics),
        Case::new("ctr", "update_memory_limit", update_memory_limit),
    ]
}

fn unified_only() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").is_file()
}

/// The memory cgroup's limit file of cgroup `cg`.
fn memory_limit_file(cg: &str) -> std::path::PathBuf {
    let rel = cg.trim_start_matches('/');
    if unified_only() {
        Path::new("/sys/fs/cgroup").join(rel).join("memory.max")
    } else {
        Path::new("/sys/fs/cgroup/memory")
            .join(rel)
            .join("memory.limit_in_bytes")
    }
}

fn pids(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("pids", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(
        rt,
        "box",
        &[],
        &["sh", "-c", "sleep 1000 & sleep 1001 & wait"],
    )?;
    let listed = wait_for("3 processes", Duration::from_secs(10), || {
        let p = ctr.task_pids("box")?;
        Ok((p.len() == 3).then_some(p))
    })?;
    let init = ctr.task_pid("box")?;
    ensure!(
        listed.contains(&init),
        "ps {listed:?} lacks the init pid {init}"
    );
    let cg = ns.cgroup_of("box");
    for pid in &listed {
        let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        ensure!(own.contains(&cg), "pid {pid} is not in cgroup {cg}: {own}");
    }
    let out = ctr.exec("box", "e", &["-d"], &["sleep", "999"])?;
    ensure!(out.code() == 0, "exec -d: {}", out.stderr);
    wait_for("4 processes", Duration::from_secs(10), || {
        Ok((ctr.task_pids("box")?.len() == 4).then_some(()))
    })?;
    Ok(())
}

fn metrics_json(ns: &blackbox_integration::TestNamespace<'_>, id: &str) -> Result<Value> {
    let out = ns.ctr().ok(&["task", "metrics", "--format", "json", id])?;
    serde_json::from_str(&out.stdout).with_context(|| format!("metrics JSON: {}", out.stdout))
}

/// Memory usage and limit from a v1 (`memory.usage.{usage,limit}`) or v2 metrics document.
fn memory_usage_limit(m: &Value) -> (u64, u64) {
    let usage = m["memory"]["usage"]["usage"]
        .as_u64()
        .or_else(|| m["memory"]["usage"].as_u64())
        .unwrap_or(0);
    let limit = m["memory"]["usage"]["limit"]
        .as_u64()
        .or_else(|| m["memory"]["usage_limit"].as_u64())
        .unwrap_or(0);
    (usage, limit)
}

fn metrics(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("metrics", rt)?;
    let ctr = ns.ctr();
    // Hold ~8 MiB in a shell variable so that memory usage is clearly above zero.
    ctr.run_detached(
        rt,
        "box",
        &["--memory-limit", "268435456"],
        &[
            "sh",
            "-c",
            "x=$(head -c 8000000 /dev/zero | tr '\\0' a); sleep 1000 & sleep 1001 & wait",
        ],
    )?;
    wait_for("3 processes", Duration::from_secs(15), || {
        Ok((ctr.task_pids("box")?.len() == 3).then_some(()))
    })?;
    let m = metrics_json(&ns, "box")?;
    // On v1/hybrid hosts runc's shim reports cgroups v1 metrics, on unified hosts v2 metrics.
    if unified_only() {
        ensure!(
            m["memory"]["usage"].is_u64(),
            "expected v2 metrics, got {m}"
        );
    } else {
        ensure!(
            m["memory"]["usage"]["usage"].is_u64(),
            "expected v1 metrics, got {m}"
        );
        ensure!(m["cpu"]["usage"]["total"].is_u64(), "no cpu usage in {m}");
    }
    let (usage, limit) = memory_usage_limit(&m);
    ensure!(usage > 4_000_000, "memory usage {usage} too small: {m}");
    ensure!(
        limit == 268_435_456,
        "memory limit {limit} in metrics, expected 256 MiB: {m}"
    );
    ensure!(m["pids"]["current"] == 3, "pids.current is not 3: {m}");
    Ok(())
}

fn update_memory_limit(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("update", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(
        rt,
        "box",
        &["--memory-limit", "268435456"],
        &["sleep", "1000"],
    )?;
    ctr.wait_status("box", "RUNNING", Duration::from_secs(10))?;
    let file = memory_limit_file(&ns.cgroup_of("box"));
    let read = || {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    ensure!(
        read() == "268435456",
        "initial limit in {}: {}",
        file.display(),
        read()
    );
    update_task_resources(
        &env.containerd.layout.address,
        &ns.name,
        "box",
        &json!({ "memory": { "limit": 67_108_864 } }),
    )?;
    ensure!(
        read() == "67108864",
        "limit after update in {}: {}",
        file.display(),
        read()
    );
    let (_, limit) = memory_usage_limit(&metrics_json(&ns, "box")?);
    ensure!(
        limit == 67_108_864,
        "metrics report limit {limit} after update"
    );
    ensure!(
        ctr.task_status("box")? == "RUNNING",
        "container stopped by the update"
    );
    Ok(())
}
