//! The shim's life: `start`, `delete`, and serving the task API.

use std::sync::Arc;

use async_trait::async_trait;
use containerd_shim::{
    asynchronous::{monitor::monitor_subscribe, publisher::RemotePublisher, ExitSignal, Shim},
    monitor::Topic,
    util::timestamp,
    Config, DeleteResponse, Flags, StartOpts,
};
use log::error;
use tokio::sync::{mpsc, Mutex};

use crate::{
    container, events, exits, logging, recording::RecordingService, spawn, task::TaskService,
};

pub struct BlackboxShim {
    exit: Arc<ExitSignal>,
    id: String,
    namespace: String,
}

#[async_trait]
impl Shim for BlackboxShim {
    type T = TaskService;

    async fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        // Serving (no action): log to the FIFO; `start`/`delete`: stderr,
        // which containerd reads for those.
        logging::init(
            args.action.is_empty(),
            args.debug,
            &args.namespace,
            &args.id,
        );
        BlackboxShim {
            exit: Arc::new(ExitSignal::default()),
            id: args.id.clone(),
            namespace: args.namespace.clone(),
        }
    }

    async fn start_shim(&mut self, opts: StartOpts) -> containerd_shim::Result<String> {
        tokio::task::spawn_blocking(move || spawn::start(&opts))
            .await
            .map_err(|e| containerd_shim::Error::Other(format!("start shim: {e}")))?
    }

    async fn delete_shim(&mut self) -> containerd_shim::Result<DeleteResponse> {
        let bundle = std::env::current_dir()
            .map_err(|e| containerd_shim::Error::Other(format!("current dir: {e}")))?;
        let pid = container::cleanup_after_dead_shim(&self.namespace, &self.id, &bundle).await?;
        Ok(DeleteResponse {
            pid: u32::try_from(pid).unwrap_or_default(),
            // As runc's shim answers for a task whose shim died: SIGKILL.
            exit_status: 137,
            exited_at: Some(timestamp()?).into(),
            ..Default::default()
        })
    }

    async fn wait(&mut self) {
        self.exit.wait().await;
    }

    async fn create_task_service(&self, publisher: RemotePublisher) -> TaskService {
        let events = events::start_publisher(publisher, self.namespace.clone());
        let (oom_tx, oom_rx) = mpsc::unbounded_channel();
        let service = TaskService {
            namespace: self.namespace.clone(),
            containers: Arc::new(Mutex::new(Default::default())),
            events: events.clone(),
            exit: self.exit.clone(),
            oom_tx,
            recording: Arc::new(RecordingService::from_node_config()),
        };
        match monitor_subscribe(Topic::Pid).await {
            Ok(subscription) => {
                exits::spawn_exit_handler(subscription, service.containers.clone(), events.clone())
            }
            Err(e) => error!("cannot watch process exits, exit statuses will be lost: {e}"),
        }
        exits::spawn_oom_publisher(oom_rx, events);
        service
    }
}
