//! `blackbox ls`: the sealed archives, filtered by namespace, pod, container and start time.
//! Everything shown comes from the archive tree's layout and file names (fast: no archive is
//! opened).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use blackbox_archive::{list_archives, timefmt};
use clap::Args;
use serde::Serialize;

use crate::archive_args::{human, node_config, print_json};
use crate::ARCHIVE_EXIT_STATUS_HELP;

const EXAMPLES: &str = "\
Examples:
  # Every archive on this node:
  blackbox ls

  # One pod's containers since a given time, as JSON lines (each with its `path`):
  blackbox ls --namespace prod --pod web-7d9f --since 2024-05-01T00:00:00Z --json

Times are RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01, midnight UTC); --since and
--until compare with the container's start time.";

/// `blackbox ls`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct LsArgs {
    /// Root of the archive tree [default: the node config's `[archive] archives_dir`,
    /// /var/lib/blackbox/archives]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The node config to take the default root from [default: /etc/blackbox/config.toml]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Only this namespace
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Only this pod
    #[arg(long, value_name = "POD")]
    pod: Option<String>,
    /// Only this container name
    #[arg(long, value_name = "NAME")]
    container: Option<String>,
    /// Only containers started at or after this time
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<i128>,
    /// Only containers started before this time
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<i128>,
    /// One JSON object per line
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row {
    path: String,
    namespace: String,
    pod: String,
    container: String,
    short_id: String,
    started_at: Option<String>,
    sealed_at: String,
    size: u64,
}

fn parse_time(s: &str) -> Result<i128> {
    if let Some(ns) = timefmt::parse_rfc3339_ns(s) {
        return Ok(ns);
    }
    timefmt::parse_rfc3339_ns(&format!("{s}T00:00:00Z")).ok_or_else(|| {
        anyhow!("{s:?} is not an RFC 3339 time (2024-05-01T12:00:00Z) or a date (2024-05-01)")
    })
}

/// `20240501T120000Z` → RFC 3339.
fn compact_to_rfc3339(c: &str) -> Option<String> {
    let b = c.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let s = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &c[0..4],
        &c[4..6],
        &c[6..8],
        &c[9..11],
        &c[11..13],
        &c[13..15]
    );
    timefmt::parse_rfc3339_ns(&s).map(timefmt::format_unix_ns)
}

pub(crate) fn run(args: &LsArgs) -> Result<ExitCode> {
    let root = match &args.root {
        Some(r) => r.clone(),
        None => node_config(args.config.as_deref())?.archive.archives_dir,
    };
    let all = list_archives(&root)?;
    let mut rows = Vec::new();
    for a in all {
        if args.namespace.as_ref().is_some_and(|n| *n != a.namespace)
            || args.pod.as_ref().is_some_and(|p| *p != a.pod)
            || args.container.as_ref().is_some_and(|c| *c != a.container)
        {
            continue;
        }
        let started = compact_to_rfc3339(&a.start);
        let start_ns = started.as_deref().and_then(timefmt::parse_rfc3339_ns);
        if args.since.is_some_and(|s| start_ns.is_none_or(|t| t < s))
            || args.until.is_some_and(|u| start_ns.is_none_or(|t| t >= u))
        {
            continue;
        }
        rows.push(Row {
            path: a.path.display().to_string(),
            namespace: a.namespace,
            pod: a.pod,
            container: a.container,
            short_id: a.short_id,
            started_at: started,
            sealed_at: timefmt::format_rfc3339(a.modified),
            size: a.size,
        });
    }
    if args.json {
        for r in &rows {
            print_json(r)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no archives under {}", root.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<24} {:<20} {:<12} {:<20} {:>10}  PATH",
        "NAMESPACE", "POD", "CONTAINER", "ID", "STARTED", "SIZE"
    );
    for r in rows {
        println!(
            "{:<16} {:<24} {:<20} {:<12} {:<20} {:>10}  {}",
            r.namespace,
            r.pod,
            r.container,
            r.short_id,
            r.started_at
                .as_deref()
                .map_or("-", |s| s.get(..19).unwrap_or(s)),
            human(r.size),
            r.path
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert!(parse_time("2024-05-01").is_ok());
        assert!(parse_time("2024-05-01T12:00:00+02:00").is_ok());
        assert!(parse_time("yesterday").is_err());
        assert_eq!(
            compact_to_rfc3339("20240501T120000Z").as_deref(),
            Some("2024-05-01T12:00:00.000000000Z")
        );
        assert_eq!(compact_to_rfc3339("2024"), None);
    }
}
