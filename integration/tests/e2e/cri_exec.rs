//! Commands in a running CRI container: ExecSync, and Exec through the streaming server.

use anyhow::{ensure, Result};
use blackbox_integration::cri::Pod;
use blackbox_integration::exec_stream::exec_over_websocket;
use blackbox_integration::{Env, Runtime};
use k8s_cri::v1 as cri;

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("cri", "exec_sync", exec_sync),
        Case::new("cri", "exec_streaming", exec_streaming),
    ]
}

const SERVER: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

fn exec_sync(env: &Env, rt: Runtime) -> Result<()> {
    let mut pod = Pod::start(env, "execsync", rt)?;
    let id = pod.start_container("app", SERVER)?;
    let r = pod.cri.exec_sync(
        &id,
        &["sh", "-c", "echo o-$BLACKBOX_TEST; echo e >&2; exit 4"],
    )?;
    ensure!(r.exit_code == 4, "exit code {}", r.exit_code);
    ensure!(
        r.stdout == b"o-app\n",
        "stdout {:?}",
        String::from_utf8_lossy(&r.stdout)
    );
    ensure!(
        r.stderr == b"e\n",
        "stderr {:?}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = pod.cri.exec_sync(&id, &["true"])?;
    ensure!(r.exit_code == 0 && r.stdout.is_empty(), "`true` gave {r:?}");
    pod.cri.stop_and_remove_container(&id)?;
    pod.remove()
}

fn exec_streaming(env: &Env, rt: Runtime) -> Result<()> {
    let mut pod = Pod::start(env, "execstream", rt)?;
    let id = pod.start_container("app", SERVER)?;
    let mut rs = pod.cri.rs();
    let f = rs.exec(cri::ExecRequest {
        container_id: id.clone(),
        cmd: vec![
            "sh".into(),
            "-c".into(),
            "echo streamed; echo to-err >&2; exit 3".into(),
        ],
        tty: false,
        stdin: false,
        stdout: true,
        stderr: true,
    });
    let url = pod.cri.call("Exec", f)?.url;
    ensure!(url.starts_with("http://127.0.0.1:"), "exec URL {url}");
    let out = exec_over_websocket(&url)?;
    ensure!(
        out.stdout == "streamed\n",
        "streamed stdout {:?}",
        out.stdout
    );
    ensure!(out.stderr == "to-err\n", "streamed stderr {:?}", out.stderr);
    ensure!(
        out.exit_code() == Some(3),
        "exit status document {}",
        out.status
    );
    pod.cri.stop_and_remove_container(&id)?;
    pod.remove()
}
