//! Publishing task events to containerd.
//!
//! Events are queued and sent in order by one task, with a timeout per
//! event as containerd's own shim does, so a slow or restarting containerd
//! never blocks the task service.

use std::time::Duration;

use containerd_shim::{
    asynchronous::publisher::RemotePublisher,
    event::Event,
    protos::{protobuf::MessageDyn, ttrpc::context::with_duration},
};
use log::warn;
use tokio::sync::mpsc;

pub type EventItem = (String, Box<dyn MessageDyn>);

#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::UnboundedSender<EventItem>,
}

impl EventSender {
    pub fn publish<E: Event>(&self, event: E) {
        let topic = event.topic().to_string();
        if self.tx.send((topic.clone(), Box::new(event))).is_err() {
            warn!("event {topic} dropped: publisher stopped");
        }
    }
}

/// Starts the publishing task and returns the sender for the task service.
pub fn start_publisher(publisher: RemotePublisher, namespace: String) -> EventSender {
    let (tx, mut rx) = mpsc::unbounded_channel::<EventItem>();
    tokio::spawn(async move {
        while let Some((topic, event)) = rx.recv().await {
            if let Err(e) = publisher
                .publish(
                    with_duration(Duration::from_secs(5)),
                    &topic,
                    &namespace,
                    event,
                )
                .await
            {
                warn!("publish {topic} to containerd: {e}");
            }
        }
    });
    EventSender { tx }
}
