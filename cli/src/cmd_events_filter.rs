//! `blackbox events`: events through the event model (process and fd state, Falco fields),
//! as `sysdig -r FILE [-p FORMAT] [FILTER]` prints them. A SCAP file is read in file order, as
//! sysdig does; an archive's capture in time order (the recorder writes an enter it held back
//! next to its exit, after other threads' later events).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use blackbox_model::Model;
use blackbox_rules::output::{OutputFormat, Token};
use blackbox_rules::{compile_filter, EventAccess, FieldId};
use blackbox_scap::EventRecord;

use crate::capture_input::with_capture;
use crate::cmd_events::clock;

/// Events are put in time order within this many (an enter held back until its exit).
const REORDER_WINDOW: usize = 16_384;

/// A bounded min-heap on (time, number): events leave in time order within the window.
#[derive(Default)]
struct Reorder {
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slots: Vec<Option<EventRecord>>,
    free: Vec<usize>,
}

impl Reorder {
    /// Takes `rec`; gives back the earliest event once more than the window is held.
    fn push(&mut self, rec: EventRecord) -> Option<EventRecord> {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        self.heap.push(Reverse((rec.event.ts, rec.num, slot)));
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(rec);
        }
        if self.heap.len() > REORDER_WINDOW {
            self.pop()
        } else {
            None
        }
    }

    /// The earliest event held.
    fn pop(&mut self) -> Option<EventRecord> {
        let Reverse((_, _, slot)) = self.heap.pop()?;
        self.free.push(slot);
        self.slots.get_mut(slot)?.take()
    }
}

pub(crate) fn run(
    input: &Path,
    filter: &str,
    format: Option<&str>,
    json: bool,
    time_order: bool,
) -> Result<ExitCode> {
    let filter = if filter.trim().is_empty() {
        None
    } else {
        Some(compile_filter(filter).map_err(|e| anyhow!("filter {filter:?}: {e}"))?)
    };
    let (format, skip_missing) = match format {
        Some(f) => {
            let (text, all) = match f.strip_prefix('*') {
                Some(rest) => (rest, true),
                None => (f, false),
            };
            let fmt = OutputFormat::compile(text).map_err(|e| anyhow!("format {f:?}: {e}"))?;
            (Some(fmt), !all)
        }
        None => (None, false),
    };
    let fields: Vec<(FieldId, Option<blackbox_rules::FieldArg>)> = format
        .as_ref()
        .map(|f| {
            f.tokens
                .iter()
                .filter_map(|t| match t {
                    Token::Field { field, arg, .. } => Some((*field, arg.clone())),
                    Token::Literal(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let printer = Printer {
        filter,
        format,
        fields,
        skip_missing,
        json,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = with_capture(input, |reader| {
        let mut model = Model::from_reader(reader);
        // Parameters cut as sysdig prints them, in the default line and in -p formats.
        model.set_param_text_limit(Some(SYSDIG_PARAM_CHARS));
        let mut reorder = time_order.then(Reorder::default);
        let mut damaged = None;
        loop {
            let rec = match reader.next_event() {
                Some(Ok(rec)) => match reorder.as_mut() {
                    Some(r) => match r.push(rec) {
                        Some(earliest) => earliest,
                        None => continue,
                    },
                    None => rec,
                },
                // What was read before the damage is still shown.
                Some(Err(e)) => {
                    damaged = Some(e);
                    break;
                }
                None => break,
            };
            printer.show(&mut out, &mut model, rec)?;
        }
        while let Some(rec) = reorder.as_mut().and_then(Reorder::pop) {
            printer.show(&mut out, &mut model, rec)?;
        }
        out.flush()?;
        match damaged {
            Some(e) => Err(anyhow!(
                "{}: the capture is damaged after the events shown: {e}",
                input.display()
            )),
            None => Ok(()),
        }
    });
    if let Err(e) = &result {
        if let Some(ioe) = e.downcast_ref::<io::Error>() {
            if ioe.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// What `events` prints: the filter, and the `-p` format (or sysdig's default line).
struct Printer {
    filter: Option<blackbox_rules::compile::Filter>,
    format: Option<OutputFormat>,
    /// The format's fields: without `*`, an event lacking one is not printed.
    fields: Vec<(FieldId, Option<blackbox_rules::FieldArg>)>,
    skip_missing: bool,
    json: bool,
}

impl Printer {
    /// One event into the model, and out if it passes the filter.
    fn show(&self, out: &mut impl Write, model: &mut Model, rec: EventRecord) -> io::Result<()> {
        let num = rec.num;
        model.process(rec);
        if let Some(f) = &self.filter {
            if !f.eval(model) {
                return Ok(());
            }
        }
        match &self.format {
            Some(fmt) => {
                if self.skip_missing
                    && self
                        .fields
                        .iter()
                        .any(|(id, arg)| model.extract(*id, arg.as_ref()).is_none())
                {
                    return Ok(());
                }
                if self.json {
                    let mut m = serde_json::Map::new();
                    fmt.json_fields(model, &mut m);
                    writeln!(out, "{}", serde_json::Value::Object(m))
                } else {
                    writeln!(out, "{}", fmt.render(model))
                }
            }
            None => print_default(out, num, model, self.json),
        }
    }
}

/// The longest parameter text sysdig prints (its `max_evt_output_len`, unless `-v`).
const SYSDIG_PARAM_CHARS: usize = 80;

fn print_default(out: &mut impl Write, num: u64, model: &mut Model, json: bool) -> io::Result<()> {
    // sysdig's evt.args: fds with their names, flags with their names, from the state;
    // each parameter cut at sysdig's 80 characters.
    let args = blackbox_rules::field_id("evt.args")
        .and_then(|id| model.extract(id, None))
        .map(|v| blackbox_rules::output::value_to_text(&v))
        .unwrap_or_default();
    let Some(ev) = model.current() else {
        return Ok(());
    };
    let ty = model.event_type();
    let dir = if ev.event_type % 2 == 0 { ">" } else { "<" };
    let tid = i64::try_from(ev.tid).unwrap_or(-1);
    let name = model.thread(tid).map_or("<NA>", |t| t.comm.as_str());
    if json {
        let v = serde_json::json!({
            "evt.num": num,
            "evt.time": clock(ev.ts),
            "evt.outputtime": ev.ts,
            "evt.type": ty,
            "evt.dir": dir,
            "evt.cpu": ev.cpu,
            "proc.name": name,
            "thread.tid": ev.tid,
            "evt.info": args,
        });
        writeln!(out, "{v}")
    } else {
        // sysdig ends every argument with a space, so a line ends with one either way.
        let sep = if args.is_empty() { "" } else { " " };
        writeln!(
            out,
            "{num} {} {} {name} ({}) {dir} {ty} {args}{sep}",
            clock(ev.ts),
            ev.cpu,
            ev.tid
        )
    }
}
