//! The CRI streaming server's exec endpoint, spoken over its websocket protocol
//! (`v4.channel.k8s.io`): one byte of channel number, then data; channel 3 carries the final
//! status as JSON.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::Message;

/// What an exec through the streaming server produced.
#[derive(Debug, Default)]
pub struct StreamedExec {
    pub stdout: String,
    pub stderr: String,
    /// The status document from the error channel (`{"status":"Success"}` or a Failure with
    /// `details.causes[{reason: ExitCode, message: N}]`).
    pub status: serde_json::Value,
}

impl StreamedExec {
    /// The exit code as kubectl derives it from the status document.
    #[must_use]
    pub fn exit_code(&self) -> Option<i32> {
        if self.status["status"] == "Success" {
            return Some(0);
        }
        self.status["details"]["causes"]
            .as_array()?
            .iter()
            .find(|c| c["reason"] == "ExitCode")?["message"]
            .as_str()?
            .parse()
            .ok()
    }
}

/// Runs the exec the URL (from CRI `Exec`) stands for, collecting stdout, stderr and status.
pub fn exec_over_websocket(url: &str) -> Result<StreamedExec> {
    let ws_url = url
        .strip_prefix("http://")
        .map(|rest| format!("ws://{rest}"))
        .with_context(|| format!("unexpected exec URL {url}"))?;
    let mut request = ws_url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "v4.channel.k8s.io".parse()?);
    let (mut socket, _) = tungstenite::connect(request).context("websocket handshake")?;
    if let MaybeTlsStream::Plain(tcp) = socket.get_mut() {
        tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    }
    let mut out = StreamedExec::default();
    let mut error_channel = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if Instant::now() > deadline {
            bail!("exec stream did not end within 30 s; so far {out:?}");
        }
        let msg = match socket.read() {
            Ok(m) => m,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(tungstenite::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue
            }
            Err(tungstenite::Error::Protocol(_)) => break,
            Err(e) => return Err(e).context("reading the exec stream"),
        };
        let data = match msg {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Close(_) => break,
            _ => continue,
        };
        let Some((&channel, payload)) = data.split_first() else {
            continue;
        };
        match channel {
            1 => out.stdout.push_str(&String::from_utf8_lossy(payload)),
            2 => out.stderr.push_str(&String::from_utf8_lossy(payload)),
            3 => error_channel.extend_from_slice(payload),
            _ => {}
        }
    }
    if !error_channel.is_empty() {
        out.status = serde_json::from_slice(&error_channel)
            .with_context(|| format!("status {:?}", String::from_utf8_lossy(&error_channel)))?;
    }
    Ok(out)
}
