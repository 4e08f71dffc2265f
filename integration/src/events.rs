//! Watching containerd's event stream (`ctr events`) in the background.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::ctr::Ctr;

/// One event line: `<timestamp> <namespace> <topic> <json>` as ctr 1.6 prints it.
#[derive(Debug, Clone)]
pub struct Event {
    pub namespace: String,
    pub topic: String,
    pub body: serde_json::Value,
}

pub struct EventWatcher {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl EventWatcher {
    /// Starts `ctr events` and waits briefly so that the subscription is in place.
    pub fn start(ctr: &Ctr<'_>) -> Result<Self> {
        let mut c = ctr.command();
        c.arg("events")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().context("starting `ctr events`")?;
        let stdout = child.stdout.take().context("ctr events stdout")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
        });
        // The subscription is made right after start-up; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Ok(EventWatcher { child, lines })
    }

    /// Events seen so far in `namespace`.
    #[must_use]
    pub fn events(&self, namespace: &str) -> Vec<Event> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|l| parse(l))
            .filter(|e| e.namespace == namespace)
            .collect()
    }

    /// Waits until an event with `topic` in `namespace` matching `pred` arrives.
    pub fn wait_for(
        &self,
        namespace: &str,
        topic: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<Event> {
        crate::cmd::wait_for(&format!("event {topic} in {namespace}"), timeout, || {
            Ok(self
                .events(namespace)
                .into_iter()
                .find(|e| e.topic == topic && pred(&e.body)))
        })
        .with_context(|| {
            let seen: Vec<String> = self
                .events(namespace)
                .iter()
                .map(|e| format!("{} {}", e.topic, e.body))
                .collect();
            format!("events seen: {seen:#?}")
        })
    }
}

impl Drop for EventWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(line: &str) -> Option<Event> {
    // "2024-01-01 00:00:00.000000000 +0000 UTC ns /tasks/exit {...}"
    let json_start = line.find('{')?;
    let head: Vec<&str> = line[..json_start].split_whitespace().collect();
    let topic = head.iter().rev().find(|w| w.starts_with('/'))?;
    let pos = head.iter().position(|w| w == topic)?;
    let namespace = head.get(pos.checked_sub(1)?)?;
    Some(Event {
        namespace: (*namespace).to_string(),
        topic: (*topic).to_string(),
        body: serde_json::from_str(&line[json_start..]).ok()?,
    })
}
