//! A Falcosidekick stand-in on loopback: accepts HTTP POSTs and keeps each body, so tests can
//! check the alerts the shims send to the configured webhook.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, Result};

/// The receiver; runs until the process exits.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl WebhookSink {
    /// Listens on 127.0.0.1 (an ephemeral port) on a thread of its own.
    pub fn start() -> Result<WebhookSink> {
        let listener = TcpListener::bind("127.0.0.1:0").context("webhook sink: bind")?;
        let port = listener.local_addr()?.port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::Builder::new()
            .name("webhook-sink".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    if let Some(body) = serve(conn) {
                        if let Ok(mut v) = kept.lock() {
                            v.push(body);
                        }
                    }
                }
            })
            .context("webhook sink thread")?;
        Ok(WebhookSink {
            url: format!("http://127.0.0.1:{port}/"),
            bodies,
        })
    }

    /// Every body received so far, in arrival order.
    #[must_use]
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Reads one request (head, then `Content-Length` bytes), answers 200, returns the body.
fn serve(mut s: TcpStream) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_end, len) = loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while data.len() < head_end + len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let end = (head_end + len).min(data.len());
    Some(String::from_utf8_lossy(&data[head_end..end]).into_owned())
}
