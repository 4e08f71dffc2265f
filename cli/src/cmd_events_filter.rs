//! `blackbox events` with a FILTER and/or `-p FORMAT`: events through the event model (process
//! and fd state, Falco fields), in capture order, as `sysdig -r FILE [-p FORMAT] FILTER`.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use blackbox_model::Model;
use blackbox_rules::output::{OutputFormat, Token};
use blackbox_rules::{compile_filter, EventAccess, FieldId};

use crate::capture_input::with_capture;
use crate::cmd_events::clock;

pub(crate) fn run(
    input: &Path,
    filter: &str,
    format: Option<&str>,
    json: bool,
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
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = with_capture(input, |reader| {
        let mut model = Model::from_reader(reader);
        // Parameters cut as sysdig prints them, in the default line and in -p formats.
        model.set_param_text_limit(Some(SYSDIG_PARAM_CHARS));
        while let Some(rec) = reader.next_event() {
            let rec = rec.map_err(|e| {
                anyhow!(
                    "{}: the capture is damaged after the events shown: {e}",
                    input.display()
                )
            })?;
            let num = rec.num;
            model.process(rec);
            if let Some(f) = &filter {
                if !f.eval(&mut model) {
                    continue;
                }
            }
            match &format {
                Some(fmt) => {
                    if skip_missing
                        && fields
                            .iter()
                            .any(|(id, arg)| model.extract(*id, arg.as_ref()).is_none())
                    {
                        continue;
                    }
                    if json {
                        let mut m = serde_json::Map::new();
                        fmt.json_fields(&mut model, &mut m);
                        writeln!(out, "{}", serde_json::Value::Object(m))?;
                    } else {
                        writeln!(out, "{}", fmt.render(&mut model))?;
                    }
                }
                None => print_default(&mut out, num, &mut model, json)?,
            }
        }
        Ok(())
    });
    if let Err(e) = &result {
        if let Some(ioe) = e.downcast_ref::<io::Error>() {
            if ioe.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    result?;
    out.flush().ok();
    Ok(ExitCode::SUCCESS)
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
