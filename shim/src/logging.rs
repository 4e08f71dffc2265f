//! Logging to containerd's `log` FIFO.
//!
//! containerd opens the FIFO `log` in the bundle directory and copies what the
//! shim writes there into its own log. Every line carries the shim id and,
//! when the message is about one container, that container's id (`log`
//! key-value `container`), so a pod's shim that serves several containers
//! still tells them apart.

use std::{
    fmt::Write as _,
    fs::{File, OpenOptions},
    io::Write,
    sync::Mutex,
};

use log::{kv, Level, LevelFilter, Log, Metadata, Record};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

struct ShimLogger {
    sink: Mutex<Sink>,
    shim_id: String,
    namespace: String,
}

enum Sink {
    Fifo(File),
    Stderr,
}

/// Logs to the FIFO `log` in the current directory (the bundle); before the
/// server runs (actions `start` and `delete`) containerd reads stderr instead.
pub fn init(to_fifo: bool, debug: bool, namespace: &str, shim_id: &str) {
    let sink = if to_fifo {
        match OpenOptions::new().write(true).open("log") {
            Ok(f) => Sink::Fifo(f),
            Err(_) => Sink::Stderr,
        }
    } else {
        Sink::Stderr
    };
    let level = std::env::var("BLACKBOX_SHIM_LOG")
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(if debug {
            LevelFilter::Debug
        } else {
            LevelFilter::Info
        });
    let logger = ShimLogger {
        sink: Mutex::new(sink),
        shim_id: shim_id.to_string(),
        namespace: namespace.to_string(),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

struct KeyValues(String);

impl<'kvs> kv::VisitSource<'kvs> for KeyValues {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        let _ = write!(self.0, " {key}={}", quote(&value.to_string()));
        Ok(())
    }
}

/// logfmt quoting, as containerd's own logs use it.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/:".contains(c))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

impl Log for ShimLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut kvs = KeyValues(String::new());
        let _ = record.key_values().visit(&mut kvs);
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        let line = format!(
            "time={} level={} msg={} runtime={} namespace={} id={}{}\n",
            quote(&now),
            level_name(record.level()),
            quote(&record.args().to_string()),
            crate::RUNTIME_ID,
            quote(&self.namespace),
            quote(&self.shim_id),
            kvs.0
        );
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        // A FIFO whose reader went away (containerd restarting) fails with
        // EPIPE; the line is dropped rather than the shim stopped.
        let _ = match &mut *sink {
            Sink::Fifo(f) => f.write_all(line.as_bytes()),
            Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
        };
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("abc-1.2/x:y"), "abc-1.2/x:y");
        assert_eq!(quote("two words"), "\"two words\"");
        assert_eq!(quote("a\"b\nc"), "\"a\\\"b\\nc\"");
        assert_eq!(quote(""), "\"\"");
    }
}
