//! 50 create/start/delete cycles must leave nothing behind: no shim process, mount, cgroup,
//! shim socket, state file or FIFO, and no extra open file in containerd.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use blackbox_integration::cmd::wait_for;
use blackbox_integration::{host, Env, Runtime, TestNamespace};

use crate::Case;

const CYCLES: usize = 50;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("ctr", "lifecycle_leaks", lifecycle_leaks).alone(),
        Case::new("ctr", "failed_create_leaks", failed_create_leaks),
        Case::new("ctr", "missing_runc", missing_runc),
        Case::new("ctr", "bad_runtime_options", bad_runtime_options).blackbox_only(),
    ]
}

fn lifecycle_leaks(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("cycles", rt)?;
    let ctr = ns.ctr();
    // The first container of a namespace creates directories that rightly stay.
    ctr.run(rt, "warmup", &["--rm"], &["true"], None)?.ok()?;
    // The socket check below computes where a shim listens; make sure it computes right.
    ctr.run_detached(rt, "probe", &[], &["sleep", "1000"])?;
    let recorded = std::fs::read_to_string(
        env.containerd
            .layout
            .bundle(&ns.name, "probe")
            .join("address"),
    )?;
    let computed = host::shim_socket_path(&env.containerd.layout.address, &ns.name, "probe");
    ensure!(
        recorded.trim() == format!("unix://{}", computed.display()),
        "the shim listens on {recorded:?}, not on containerd's {}",
        computed.display()
    );
    ctr.ok(&["task", "kill", "-s", "SIGKILL", "probe"])?;
    ctr.wait_status("probe", "STOPPED", Duration::from_secs(10))?;
    ctr.delete_task("probe")?;
    ctr.ok(&["containers", "rm", "probe"])?;
    ensure!(
        !computed.exists(),
        "the probe's shim socket {} outlived it",
        computed.display()
    );
    std::thread::sleep(Duration::from_millis(500));
    let containerd_pid = env.containerd.pid().context("containerd is not running")?;
    let fds_before = host::fd_targets(containerd_pid);
    let fifos_before: BTreeSet<PathBuf> = host::files_under(&env.containerd.layout.fifo_dir)
        .into_iter()
        .collect();
    let ids: Vec<String> = (0..CYCLES).map(|i| format!("cycle{i}")).collect();
    for id in &ids {
        let out = ctr.run(rt, id, &["--rm"], &["sh", "-c", "echo $$ >/dev/null"], None)?;
        out.ok().with_context(|| format!("cycle {id}"))?;
    }
    let mut last = Vec::new();
    let clean = wait_for("a clean host", Duration::from_secs(10), || {
        last = leaks(
            env,
            &ns,
            &ids,
            Some(containerd_pid),
            &fds_before,
            &fifos_before,
        );
        Ok(last.is_empty().then_some(()))
    });
    clean.with_context(|| format!("after {CYCLES} cycles:\n  {}", last.join("\n  ")))?;
    if rt == Runtime::Blackbox {
        // No container stays registered with the eBPF recorder (this test
        // runs alone, so no other container of the run is being recorded).
        let options = blackbox_recorder::RecorderOptions {
            pin_root: env.containerd.layout.bpf_pin_root.clone(),
            mount_bpffs: false,
            cgroup2_root: None,
        };
        let recorder = blackbox_recorder::Recorder::open(&options)
            .context("open the run's pinned recorder")?;
        let registered = recorder.registered();
        ensure!(
            registered.is_empty(),
            "cgroups still registered with the recorder after {CYCLES} cycles: {registered:?}"
        );
    }
    Ok(())
}

/// A container whose program does not exist: create fails the same way under both shims and
/// leaves nothing behind.
fn failed_create_leaks(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("failedcreate", rt)?;
    let ctr = ns.ctr();
    let out = ctr.run(rt, "broken", &["--rm"], &["/no/such/program"], None)?;
    ensure!(out.code() != 0, "running a missing program succeeded");
    ensure!(
        out.stderr.contains("no such file or directory"),
        "ctr's error does not tell why: {}",
        out.stderr.trim()
    );
    let ids = vec!["broken".to_string()];
    let mut last = Vec::new();
    let clean = wait_for("a clean host", Duration::from_secs(10), || {
        last = leaks(env, &ns, &ids, None, &[], &BTreeSet::new());
        Ok(last.is_empty().then_some(()))
    });
    clean.with_context(|| format!("after a failed create:\n  {}", last.join("\n  ")))
}

/// `ctr run` with the runtime's own flags plus `extra`, expecting Create to
/// fail with a message containing `expect`, and nothing to be left behind.
fn run_must_fail_cleanly(
    env: &Env,
    ns: &TestNamespace<'_>,
    rt: Runtime,
    extra: &[String],
    expect: &str,
) -> Result<()> {
    let ctr = ns.ctr();
    let mut cmd = ctr.command();
    cmd.arg("run").arg("--rm");
    // The runtime's default options file would be given twice; pass ours alone.
    let flags: Vec<String> = ctr.runtime_flags(rt);
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        if f == "--runtime-config-path" && extra.iter().any(|e| e == f) {
            it.next();
            continue;
        }
        cmd.arg(f);
    }
    cmd.args(extra)
        .arg(blackbox_integration::image::BUSYBOX_REF)
        .arg("refused")
        .arg("true");
    let out = blackbox_integration::cmd::run(cmd, None, Duration::from_secs(60))?;
    ensure!(out.code() != 0, "create with {extra:?} succeeded");
    ensure!(
        out.stderr.contains(expect),
        "ctr's error does not name {expect:?}: {}",
        out.stderr.trim()
    );
    let ids = vec!["refused".to_string()];
    let mut last = Vec::new();
    wait_for("a clean host", Duration::from_secs(10), || {
        last = leaks(env, ns, &ids, None, &[], &BTreeSet::new());
        Ok(last.is_empty().then_some(()))
    })
    .with_context(|| format!("after a refused create:\n  {}", last.join("\n  ")))
}

/// A runc binary that does not exist: Create names it, nothing is left.
fn missing_runc(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("missingrunc", rt)?;
    let missing = "/no/such/runc";
    let extra = match rt {
        Runtime::Runc => vec!["--runc-binary".to_string(), missing.to_string()],
        Runtime::Blackbox => {
            let root = env.containerd.layout.runc_root.display().to_string();
            let text = format!("BinaryName = \"{missing}\"\nRoot = \"{root}\"\n");
            let file = ns_options_file(env, &ns, &text)?;
            vec!["--runtime-config-path".to_string(), file]
        }
    };
    run_must_fail_cleanly(env, &ns, rt, &extra, missing)
}

/// An unknown key in blackbox's runtime options file: Create names the
/// file, the line and the key; nothing is left.
fn bad_runtime_options(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("badoptions", rt)?;
    let file = ns_options_file(env, &ns, "# comment\nSystemdCgroups = true\n")?;
    let extra = vec!["--runtime-config-path".to_string(), file.clone()];
    run_must_fail_cleanly(env, &ns, rt, &extra, &format!("{file}:2:1"))?;
    run_must_fail_cleanly(env, &ns, rt, &extra, "SystemdCgroups")
}

/// Writes a runtime options file for one test, next to the run's own.
fn ns_options_file(env: &Env, ns: &TestNamespace<'_>, text: &str) -> Result<String> {
    let dir = env
        .containerd
        .layout
        .blackbox_runtime_config
        .parent()
        .context("runtime config has no directory")?
        .to_path_buf();
    let path = dir.join(format!("{}-runtime.toml", ns.name));
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    Ok(path.display().to_string())
}

fn leaks(
    env: &Env,
    ns: &TestNamespace<'_>,
    ids: &[String],
    containerd_pid: Option<i32>,
    fds_before: &[String],
    fifos_before: &BTreeSet<PathBuf>,
) -> Vec<String> {
    let layout = &env.containerd.layout;
    let mut found = Vec::new();
    for shim in host::shims_of(&layout.address) {
        if shim.flag("-namespace") == Some(ns.name.as_str()) {
            found.push(format!("shim process {} {:?}", shim.pid, shim.args));
        }
    }
    let bundles = layout
        .state
        .join("io.containerd.runtime.v2.task")
        .join(&ns.name);
    for m in host::mounts_under(&bundles) {
        found.push(format!("mount {}", m.display()));
    }
    for f in host::files_under(&bundles) {
        found.push(format!("bundle file {}", f.display()));
    }
    for f in host::files_under(&layout.runc_root.join(&ns.name)) {
        found.push(format!("runc state file {}", f.display()));
    }
    for f in host::files_under(&layout.fifo_dir) {
        if containerd_pid.is_some() && !fifos_before.contains(&f) {
            found.push(format!("fifo {}", f.display()));
        }
    }
    // runc's state belongs under the configured root, never in the default one.
    let default_root = std::path::Path::new("/run/containerd/runc").join(&ns.name);
    if default_root.exists() {
        found.push(format!(
            "{} exists: runc's default root was used",
            default_root.display()
        ));
    }
    for id in ids {
        for dir in host::cgroup_dirs(&ns.cgroup_of(id)) {
            found.push(format!("cgroup {}", dir.display()));
        }
        let socket = host::shim_socket_path(&layout.address, &ns.name, id);
        if socket.exists() {
            found.push(format!("shim socket {}", socket.display()));
        }
    }
    let Some(containerd_pid) = containerd_pid else {
        return found;
    };
    let fds_after = host::fd_targets(containerd_pid);
    if fds_after.len() > fds_before.len() {
        let mut extra: Vec<&String> = fds_after.iter().collect();
        for f in fds_before {
            if let Some(i) = extra.iter().position(|e| *e == f) {
                extra.remove(i);
            }
        }
        found.push(format!(
            "containerd has {} open fds, {} before: new {extra:?}",
            fds_after.len(),
            fds_before.len()
        ));
    }
    found
}
