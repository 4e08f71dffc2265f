//! Turning reaped children into process exits and TaskExit events.
//!
//! The `containerd-shim` crate reaps every child on SIGCHLD and reports
//! `(pid, status)` on its monitor (status is 128+signal for a signalled
//! process, so SIGKILL is 137). Each report is matched against the init
//! and exec processes of every container under the containers lock: a
//! process being started holds that lock until its pid is recorded, so an
//! exit that comes before Start returns is never lost.

use containerd_shim::{
    asynchronous::monitor::{monitor_unsubscribe, Subscription},
    monitor::Subject,
    protos::events::task::{TaskExit, TaskOOM},
};
use log::{debug, info, warn};
use runc::options::KillOpts;
use tokio::sync::mpsc;

use crate::{events::EventSender, task::Containers};

pub fn spawn_exit_handler(mut exits: Subscription, containers: Containers, events: EventSender) {
    tokio::spawn(async move {
        while let Some(exit) = exits.rx.recv().await {
            let Subject::Pid(pid) = exit.subject else {
                continue;
            };
            handle_exit(pid, exit.exit_code, &containers, &events).await;
        }
        let _ = monitor_unsubscribe(exits.id).await;
    });
}

async fn handle_exit(pid: i32, code: i32, containers: &Containers, events: &EventSender) {
    if pid <= 0 {
        return;
    }
    let mut containers = containers.lock().await;
    for c in containers.values_mut() {
        let container_id = c.id.clone();
        let is_init = c.init.pid == pid;
        let process = if is_init {
            if c.kill_all_on_exit {
                // The container shares a pid namespace: its other processes
                // would outlive init. runc's shim kills them; so do we.
                if let Err(e) = c
                    .runc
                    .kill(&c.id, 9, Some(&KillOpts::new().all(true)))
                    .await
                {
                    debug!(container = container_id.as_str(); "kill all after init exit: {e}");
                }
            }
            &mut c.init
        } else if let Some(p) = c.execs.values_mut().find(|p| p.pid == pid) {
            p
        } else {
            continue;
        };
        if process.exit.is_some() {
            return;
        }
        let exit = process.set_exited(code);
        if is_init && c.oom.as_ref().is_some_and(|w| w.catch_up()) {
            // The watcher has not reported this kill yet; TaskOOM must
            // not come after the exit it explains.
            publish_oom(events, container_id.clone());
        }
        info!(container = container_id.as_str(); "process {} (pid {pid}) exited with status {}", process.id, exit.status);
        events.publish(TaskExit {
            container_id,
            id: process.id.clone(),
            pid: u32::try_from(pid).unwrap_or_default(),
            exit_status: exit.status,
            exited_at: process.exited_at().into(),
            ..Default::default()
        });
        return;
    }
}

pub fn spawn_oom_publisher(mut ooms: mpsc::UnboundedReceiver<String>, events: EventSender) {
    tokio::spawn(async move {
        while let Some(container_id) = ooms.recv().await {
            publish_oom(&events, container_id);
        }
    });
}

fn publish_oom(events: &EventSender, container_id: String) {
    warn!(container = container_id.as_str(); "OOM kill in the container's memory cgroup");
    events.publish(TaskOOM {
        container_id,
        ..Default::default()
    });
}
