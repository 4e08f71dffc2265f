//! One process of a container: its init or an exec, and its lifecycle state.

use std::{os::fd::OwnedFd, time::Duration};

use containerd_shim::{
    api::Status, protos::protobuf::well_known_types::timestamp::Timestamp,
    util::convert_to_timestamp,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::io::{Copiers, Stdio};

/// How an exited process ended, as containerd reports it.
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    /// The exit code, or 128 + signal for a process killed by a signal.
    pub status: u32,
    pub at: OffsetDateTime,
}

pub struct Process {
    /// The exec id, or the container id for the init process.
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub stdio: Stdio,
    pub exit: Option<Exit>,
    exited_tx: watch::Sender<Option<Exit>>,
    pub console: Option<OwnedFd>,
    pub copiers: Copiers,
    /// The OCI process spec of an exec (unused for init).
    pub spec: Option<oci_spec_runc::runtime::Process>,
}

impl Process {
    pub fn new(id: &str, stdio: Stdio) -> Self {
        let (exited_tx, _) = watch::channel(None);
        Self {
            id: id.to_string(),
            pid: 0,
            status: Status::CREATED,
            stdio,
            exit: None,
            exited_tx,
            console: None,
            copiers: Copiers::default(),
            spec: None,
        }
    }

    /// Records the exit once; later reports of the same exit are ignored.
    pub fn set_exited(&mut self, status: i32) -> Exit {
        if let Some(exit) = self.exit {
            return exit;
        }
        let exit = Exit {
            status: u32::try_from(status).unwrap_or(255),
            at: OffsetDateTime::now_utc(),
        };
        self.exit = Some(exit);
        self.status = Status::STOPPED;
        // Closing stdin lets a copier blocked on the FIFO finish.
        self.copiers.stdin_keepalive = None;
        self.exited_tx.send_replace(Some(exit));
        exit
    }

    /// A receiver that yields the exit; waited on without holding any lock.
    pub fn subscribe_exit(&self) -> watch::Receiver<Option<Exit>> {
        self.exited_tx.subscribe()
    }

    pub fn exit_status(&self) -> u32 {
        self.exit.map_or(0, |e| e.status)
    }

    pub fn exited_at(&self) -> Option<Timestamp> {
        self.exit.map(|e| convert_to_timestamp(Some(e.at)))
    }

    /// Waits (bounded) for the output copies, so Delete answers only once
    /// the reader has every byte.
    pub async fn drain_output(&mut self) {
        self.copiers.drain(Duration::from_secs(2)).await;
    }
}

/// Waits for a process exit through a receiver taken under the lock.
pub async fn wait_exit(mut rx: watch::Receiver<Option<Exit>>) -> Option<Exit> {
    loop {
        if let Some(exit) = *rx.borrow_and_update() {
            return Some(exit);
        }
        if rx.changed().await.is_err() {
            return *rx.borrow();
        }
    }
}
