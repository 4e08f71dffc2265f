//! `blackbox events` (the capture as sysdig prints it, or as JSON lines; the event model is in
//! `cmd_events_filter`) and `blackbox export` (the capture as a file for `sysdig -r`).

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use blackbox_archive::manifest::members;
use blackbox_archive::ArchiveError;
use blackbox_scap::ScapReader;
use clap::Args;

use crate::archive_args::open;
use crate::ARCHIVE_EXIT_STATUS_HELP;

const EVENTS_EXAMPLES: &str = "\
Examples:
  blackbox events archive.tar | less
  blackbox events --json archive.tar.zst | jq 'select(.\"evt.type\" == \"execve\")'

  blackbox events web.scap 'proc.name=cat and evt.dir=<'
  blackbox events archive.tar 'fd.name contains /etc' -p '%evt.num %proc.name %fd.name'

INPUT is an archive or a plain SCAP file (.scap, plain or gzip).
Each line: evt.num evt.time evt.cpu proc.name (thread.tid) evt.dir evt.type evt.info, as
`sysdig -r` prints it (times in UTC; fd names, flag names and paths annotated, parameters cut
at 80 characters). An archive's events come in time order, a SCAP file's in file order.
--json prints the fields of `sysdig -j`: evt.num, evt.time, evt.outputtime (ns since the
epoch), evt.type, evt.dir, evt.cpu, proc.name, thread.tid, evt.info.

FILTER (the remaining arguments, joined by spaces, as sysdig takes it) is a condition in
the Falco/sysdig filter grammar with the same fields as the rules (`blackbox fields`); only
matching events are printed. -p FORMAT prints each event with sysdig's `-p` format: `%field`
tokens, `%field[arg]`, `%Nfield` widths; as in sysdig an event with a missing field is skipped
unless FORMAT starts with `*` (then `<NA>`). With --json and -p, one JSON object of the fields.
With FILTER or -p (or a plain SCAP input) events come in capture order, as sysdig reads them:
the process and fd state behind the fields depends on that order.";

/// `blackbox events`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EVENTS_EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct EventsArgs {
    /// The archive (.tar or .tar.zst) or a SCAP file
    archive: PathBuf,
    /// Only events matching this filter (sysdig/Falco filter syntax)
    #[arg(value_name = "FILTER", num_args = 0..)]
    filter: Vec<String>,
    /// Print each event with this format (sysdig's -p)
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    format: Option<String>,
    /// One JSON object per event
    #[arg(long)]
    json: bool,
}

const EXPORT_EXAMPLES: &str = "\
Examples:
  blackbox export archive.tar --scap web.scap && sysdig -r web.scap
  blackbox export archive.tar.zst --scap web.scap --force";

/// `blackbox export`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EXPORT_EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct ExportArgs {
    /// The archive (.tar or .tar.zst)
    archive: PathBuf,
    /// Where to write the capture
    #[arg(long, value_name = "FILE")]
    scap: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    force: bool,
}

pub(crate) fn clock(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        ns % 1_000_000_000
    )
}

pub(crate) fn run_events(args: &EventsArgs) -> Result<ExitCode> {
    // A SCAP file in file order, as sysdig reads it; an archive in time order.
    let time_order = !crate::capture_input::is_scap_file(&args.archive)?;
    crate::cmd_events_filter::run(
        &args.archive,
        &args.filter.join(" "),
        args.format.as_deref(),
        args.json,
        time_order,
    )
}

fn bad_capture(archive: &Path, e: &dyn std::fmt::Display) -> ArchiveError {
    ArchiveError::BadMember {
        path: archive.to_path_buf(),
        member: members::CAPTURE.into(),
        reason: format!("not a readable SCAP capture: {e}"),
    }
}

pub(crate) fn run_export(args: &ExportArgs) -> Result<ExitCode> {
    let archive = open(&args.archive)?;
    if !args.force && std::fs::symlink_metadata(&args.scap).is_ok() {
        return Err(anyhow!(
            "{} exists; pass --force to replace it",
            args.scap.display()
        ));
    }
    let dir = match args.scap.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = args
        .scap
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", args.scap.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("{}: create", tmp.display()))?;
        archive.read_member(members::CAPTURE.as_bytes(), |r| {
            io::copy(r, &mut f).map_err(|e| ArchiveError::Io {
                op: "write",
                path: tmp.clone(),
                source: e,
            })
        })?;
        f.sync_all()
            .with_context(|| format!("{}: fsync", tmp.display()))?;
        std::fs::rename(&tmp, &args.scap)
            .with_context(|| format!("{}: rename into place", args.scap.display()))?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // Check what was written decodes, so a damaged capture is reported here.
    let mut reader = ScapReader::open(&args.scap).map_err(|e| bad_capture(&args.archive, &e))?;
    let mut n = 0u64;
    while let Some(ev) = reader.next_event() {
        if let Err(e) = ev {
            eprintln!(
                "blackbox: warning: {}: the capture is damaged after event {n}: {e}",
                args.scap.display()
            );
            break;
        }
        n += 1;
    }
    eprintln!("wrote {} ({n} events)", args.scap.display());
    Ok(ExitCode::SUCCESS)
}
