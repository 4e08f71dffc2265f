//! `blackbox events` (the capture as text or JSON lines, in time order) and `blackbox export`
//! (the capture as a file for `sysdig -r`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use blackbox_archive::manifest::members;
use blackbox_archive::ArchiveError;
use blackbox_scap::render::render_args;
use blackbox_scap::{EventRecord, ParamValue, ScapReader};
use clap::Args;
use serde::Serialize;

use crate::archive_args::open;
use crate::ARCHIVE_EXIT_STATUS_HELP;

/// Events are reordered by time within this many events (deferred enters arrive late).
const REORDER_WINDOW: usize = 16_384;

const EVENTS_EXAMPLES: &str = "\
Examples:
  blackbox events archive.tar | less
  blackbox events --json archive.tar.zst | jq 'select(.\"evt.type\" == \"execve\")'

  blackbox events web.scap 'proc.name=cat and evt.dir=<'
  blackbox events archive.tar 'fd.name contains /etc' -p '%evt.num %proc.name %fd.name'

INPUT is an archive or a plain SCAP file (.scap, plain or gzip).
Each line: evt.num evt.time evt.cpu proc.name (thread.tid) evt.dir evt.type evt.info, as
`sysdig -r` prints it (times in UTC; evt.info without sysdig's parenthesised annotations).
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

#[derive(Serialize)]
struct JsonEvent<'a> {
    #[serde(rename = "evt.num")]
    num: u64,
    #[serde(rename = "evt.time")]
    time: String,
    #[serde(rename = "evt.outputtime")]
    outputtime: u64,
    #[serde(rename = "evt.type")]
    ty: &'a str,
    #[serde(rename = "evt.dir")]
    dir: &'a str,
    #[serde(rename = "evt.cpu")]
    cpu: u16,
    #[serde(rename = "proc.name")]
    proc_name: &'a str,
    #[serde(rename = "thread.tid")]
    tid: u64,
    #[serde(rename = "evt.info")]
    info: String,
}

/// Thread → command name, learned from the process list and from exec/clone exits.
#[derive(Default)]
struct Threads {
    comm: HashMap<u64, String>,
}

impl Threads {
    fn learn(&mut self, r: &EventRecord) {
        let ev = &r.event;
        let Some(ParamValue::Str(comm)) = ev.param("comm") else {
            return;
        };
        let comm = String::from_utf8_lossy(comm).into_owned();
        match ev.param("res") {
            // Parent side of a clone: the child inherits the name.
            Some(ParamValue::Pid(child) | ParamValue::Int(child) | ParamValue::Errno(child))
                if *child > 0 && ev.param("ptid").is_some() =>
            {
                if let Ok(c) = u64::try_from(*child) {
                    self.comm.entry(c).or_insert_with(|| comm.clone());
                }
            }
            _ => {
                self.comm.insert(ev.tid, comm);
            }
        }
    }
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
    if !args.filter.is_empty()
        || args.format.is_some()
        || crate::capture_input::is_scap_file(&args.archive)?
    {
        return crate::cmd_events_filter::run(
            &args.archive,
            &args.filter.join(" "),
            args.format.as_deref(),
            args.json,
        );
    }
    let archive = open(&args.archive)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut stream_err: Option<String> = None;
    let result = archive.read_member(members::CAPTURE.as_bytes(), |r| {
        let mut reader = ScapReader::new(r).map_err(|e| bad_capture(&args.archive, &e))?;
        let mut threads = Threads::default();
        for p in &reader.metadata().processes {
            threads.comm.insert(p.tid, p.comm.clone());
        }
        // Min-heap on (time, number): events leave in time order within the window.
        let mut heap: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
        let mut slots: Vec<Option<EventRecord>> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let mut emit = |rec: EventRecord, threads: &mut Threads| -> io::Result<()> {
            threads.learn(&rec);
            print_event(&mut out, &rec, threads, args.json)
        };
        while let Some(next) = reader.next_event() {
            let rec = match next {
                Ok(rec) => rec,
                Err(e) => {
                    stream_err = Some(e.to_string());
                    break;
                }
            };
            let slot = free.pop().unwrap_or_else(|| {
                slots.push(None);
                slots.len() - 1
            });
            heap.push(Reverse((rec.event.ts, rec.num, slot)));
            slots[slot] = Some(rec);
            if heap.len() > REORDER_WINDOW {
                if let Some(Reverse((_, _, s))) = heap.pop() {
                    if let Some(rec) = slots[s].take() {
                        free.push(s);
                        emit(rec, &mut threads).map_err(|e| stdout_err(&e))?;
                    }
                }
            }
        }
        while let Some(Reverse((_, _, s))) = heap.pop() {
            if let Some(rec) = slots[s].take() {
                emit(rec, &mut threads).map_err(|e| stdout_err(&e))?;
            }
        }
        Ok(())
    });
    if let Err(ArchiveError::Io { path, .. }) = &result {
        if path.as_os_str() == "<stdout>" {
            // A closed pipe (`| head`) is not an error.
            return Ok(ExitCode::SUCCESS);
        }
    }
    result?;
    out.flush().ok();
    if let Some(e) = stream_err {
        return Err(anyhow!(
            "{}: member {}: the capture is damaged after the events shown: {e}",
            args.archive.display(),
            members::CAPTURE
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn stdout_err(e: &io::Error) -> ArchiveError {
    ArchiveError::Io {
        op: "write",
        path: PathBuf::from("<stdout>"),
        source: io::Error::new(e.kind(), e.to_string()),
    }
}

fn bad_capture(archive: &Path, e: &dyn std::fmt::Display) -> ArchiveError {
    ArchiveError::BadMember {
        path: archive.to_path_buf(),
        member: members::CAPTURE.into(),
        reason: format!("not a readable SCAP capture: {e}"),
    }
}

fn print_event(
    out: &mut impl Write,
    rec: &EventRecord,
    threads: &Threads,
    json: bool,
) -> io::Result<()> {
    let ev = &rec.event;
    let info = ev.info();
    let ty = info.map_or("<unknown>", |i| i.name);
    let dir = if info.is_some_and(|i| i.is_enter()) {
        ">"
    } else {
        "<"
    };
    let name = threads.comm.get(&ev.tid).map_or("<NA>", String::as_str);
    let args = render_args(ev);
    if json {
        let j = JsonEvent {
            num: rec.num,
            time: clock(ev.ts),
            outputtime: ev.ts,
            ty,
            dir,
            cpu: ev.cpu,
            proc_name: name,
            tid: ev.tid,
            info: args,
        };
        serde_json::to_writer(&mut *out, &j)?;
        writeln!(out)
    } else {
        writeln!(
            out,
            "{} {} {} {} ({}) {} {} {}",
            rec.num,
            clock(ev.ts),
            ev.cpu,
            name,
            ev.tid,
            dir,
            ty,
            args
        )
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
