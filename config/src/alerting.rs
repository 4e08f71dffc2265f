//! `[rules]` and `[alerts]`: the Falco rules the shim evaluates live on every recorded
//! container, and where their alerts go.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ConfigError;

/// Where `blackbox install` puts the upstream Falco rules (the default rules file).
pub const DEFAULT_RULES_FILE: &str = "/etc/blackbox/rules/falco_rules.yaml";

/// `[rules]`: live evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Evaluate rules live at all.
    pub enabled: bool,
    /// Falco rules files, loaded in this order (later files amend earlier ones).
    pub files: Vec<PathBuf>,
    /// Rules less severe than this are not evaluated (Falco's `priority`: emergency, alert,
    /// critical, error, warning, notice, informational, debug).
    pub min_priority: String,
    /// Every matching rule alerts (Falco's `rule_matching: all`); default: the first one.
    pub all_matches: bool,
    /// Events waiting for evaluation per container, at most; beyond it events are not
    /// evaluated (counted as `rules_behind` in the archive's metadata), recording goes on.
    pub queue_events: usize,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            files: vec![PathBuf::from(DEFAULT_RULES_FILE)],
            min_priority: "debug".into(),
            all_matches: false,
            queue_events: 65_536,
        }
    }
}

/// Falco's priority names, most severe first.
pub const PRIORITY_NAMES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

impl RulesConfig {
    pub(crate) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: format!("rules.{key}"),
            reason,
        };
        for f in &self.files {
            if !f.is_absolute() {
                return Err(invalid(
                    "files",
                    format!("{} is not an absolute path", f.display()),
                ));
            }
        }
        let p = self.min_priority.to_ascii_lowercase();
        if !PRIORITY_NAMES.contains(&p.as_str()) && p != "info" {
            return Err(invalid(
                "min_priority",
                format!(
                    "{:?} is not a Falco priority ({})",
                    self.min_priority,
                    PRIORITY_NAMES.join(", ")
                ),
            ));
        }
        if self.queue_events == 0 || self.queue_events > 16 << 20 {
            return Err(invalid(
                "queue_events",
                format!("{} is outside 1..={}", self.queue_events, 16 << 20),
            ));
        }
        Ok(())
    }
}

/// `[alerts]`: the node alert log and the webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// The node alert log: Falco's JSON alerts, one per line, from every shim.
    pub log_path: PathBuf,
    /// Past this size the log is rotated (`alerts.jsonl.1` …).
    pub log_max_bytes: u64,
    /// Rotated files kept.
    pub log_keep: u32,
    /// Falcosidekick-compatible webhook (`http://host:port/path`): each alert is POSTed as
    /// Falco's `http_output` does. Empty: none.
    pub webhook_url: String,
    /// Per-request timeout.
    pub webhook_timeout_ms: u64,
    /// Alerts waiting to be sent, at most; beyond it alerts are dropped (counted, logged).
    pub webhook_queue: usize,
    /// Attempts per alert (with doubling backoff from 250 ms) before it is dropped.
    pub webhook_attempts: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            log_path: PathBuf::from("/var/log/blackbox/alerts.jsonl"),
            log_max_bytes: 64 << 20,
            log_keep: 5,
            webhook_url: String::new(),
            webhook_timeout_ms: 2_000,
            webhook_queue: 1_024,
            webhook_attempts: 4,
        }
    }
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` to connect to.
    pub authority: String,
    /// The `Host` header value.
    pub host: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Parses `http://host[:port][/path]`. HTTPS is not spoken by the shim (run Falcosidekick
/// or a TLS proxy on the node or in the cluster network).
pub fn parse_http_url(url: &str) -> Result<HttpUrl, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        if url.starts_with("https://") {
            format!("{url}: https is not supported (point it at Falcosidekick or a TLS proxy over http)")
        } else {
            format!("{url}: not an http:// URL")
        }
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if hostport.is_empty() || hostport.contains('@') || hostport.contains(char::is_whitespace) {
        return Err(format!("{url}: no usable host"));
    }
    let has_port = match hostport.rfind(':') {
        // `[::1]` has colons but no port; `[::1]:80` and `host:80` have one.
        Some(i) => !hostport[i..].contains(']'),
        None => false,
    };
    let authority = if has_port {
        let port = &hostport[hostport.rfind(':').unwrap_or(0) + 1..];
        if port.parse::<u16>().is_err() {
            return Err(format!("{url}: port {port:?} is not a number 0..=65535"));
        }
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    if path.contains(char::is_whitespace) {
        return Err(format!("{url}: the path contains white space"));
    }
    Ok(HttpUrl {
        authority,
        host: hostport.to_string(),
        path: path.to_string(),
    })
}

impl AlertsConfig {
    pub(crate) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: format!("alerts.{key}"),
            reason,
        };
        if !self.log_path.is_absolute() {
            return Err(invalid(
                "log_path",
                format!("{} is not an absolute path", self.log_path.display()),
            ));
        }
        if self.log_max_bytes < 4096 {
            return Err(invalid(
                "log_max_bytes",
                format!("{} is below 4096", self.log_max_bytes),
            ));
        }
        if !self.webhook_url.is_empty() {
            parse_http_url(&self.webhook_url).map_err(|r| invalid("webhook_url", r))?;
        }
        if self.webhook_queue == 0 {
            return Err(invalid("webhook_queue", "must be at least 1".into()));
        }
        if self.webhook_attempts == 0 {
            return Err(invalid("webhook_attempts", "must be at least 1".into()));
        }
        if self.webhook_timeout_ms == 0 {
            return Err(invalid("webhook_timeout_ms", "must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        let u = parse_http_url("http://sidekick:2801/").expect("url");
        assert_eq!(u.authority, "sidekick:2801");
        assert_eq!(u.path, "/");
        let u = parse_http_url("http://127.0.0.1").expect("url");
        assert_eq!(u.authority, "127.0.0.1:80");
        assert_eq!(u.host, "127.0.0.1");
        let u = parse_http_url("http://[::1]:9/a?b=c").expect("url");
        assert_eq!(u.authority, "[::1]:9");
        assert_eq!(u.path, "/a?b=c");
        assert_eq!(
            parse_http_url("http://[::1]").expect("url").authority,
            "[::1]:80"
        );
        for bad in [
            "https://x/",
            "ftp://x",
            "http://",
            "http://x:99999/",
            "http://u@x/",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
        let https = parse_http_url("https://x/").expect_err("https");
        assert!(https.contains("https is not supported"), "{https}");
    }
}
