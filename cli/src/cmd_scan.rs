//! `blackbox scan`: re-evaluate Falco rules on recorded captures.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use blackbox_model::Model;
use blackbox_rules::{Engine, EngineConfig, Priority, RuleMatching};
use clap::Args;

use crate::capture_input::with_capture;

const SCAN_HELP: &str = "\
Examples:
  blackbox scan archive.tar.zst --rules /etc/falco/falco_rules.yaml
  blackbox scan web.scap --rules falco_rules.yaml --rules local.yaml --json | jq .rule

Each input is an archive (its capture member) or a plain SCAP file (.scap, plain or gzip).
The rules files are loaded as Falco loads them (later files amend earlier ones); every input
is scanned from its start with a fresh process/fd state. Alerts are printed as Falco prints
them: the text line `HH:MM:SS.nnnnnnnnn: Priority message` (UTC), or with --json Falco's JSON
alert (time, rule, priority, source, hostname, output, tags, output_fields).

Exit status (as `diff`/`cmp`: a finding is not an error, but scripts can test it):
  0  scanned, no alert
  1  scanned, at least one alert
  2  error: unreadable input or rules with errors (the message says which), usage error";

/// `blackbox scan`.
#[derive(Debug, Args)]
#[command(after_help = SCAN_HELP)]
pub struct ScanArgs {
    /// Archives or SCAP files
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Rules file (repeatable, in load order)
    #[arg(long = "rules", short = 'r', required = true, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Falco's JSON alerts, one per line
    #[arg(long)]
    json: bool,
    /// Skip rules less severe than this (emergency … debug; Falco's `priority`)
    #[arg(long, value_name = "P", default_value = "debug")]
    min_priority: String,
    /// Every matching rule alerts (Falco `rule_matching: all`; default: first)
    #[arg(long)]
    all_matches: bool,
}

pub(crate) fn run(args: &ScanArgs) -> Result<ExitCode> {
    let min_priority = Priority::parse(&args.min_priority)
        .ok_or_else(|| anyhow!("--min-priority {}: not a Falco priority", args.min_priority))?;
    let config = EngineConfig {
        min_priority,
        rule_matching: if args.all_matches {
            RuleMatching::All
        } else {
            RuleMatching::First
        },
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config);
    let load = engine.load_files(&args.rules)?;
    for m in load.warnings() {
        eprintln!("blackbox: warning: {m}");
    }
    let errors: Vec<String> = load.errors().map(ToString::to_string).collect();
    if !errors.is_empty() {
        return Err(anyhow!("the rules do not load:\n{}", errors.join("\n")));
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut alerts = 0u64;
    for input in &args.inputs {
        let n = with_capture(input, |reader| {
            let mut model = Model::from_reader(reader);
            let mut n = 0u64;
            let ruleset = engine.ruleset();
            while let Some(rec) = reader.next_event() {
                let rec = rec.map_err(|e| {
                    anyhow!(
                        "{}: the capture is damaged after event {}: {e}",
                        input.display(),
                        model.current().map_or(0, |_| n)
                    )
                })?;
                model.process(rec);
                let mut failed: Option<io::Error> = None;
                ruleset.evaluate(&mut model, |ri, m| {
                    n += 1;
                    if let Some(a) = ruleset.alert(ri, m) {
                        let r = if args.json {
                            writeln!(out, "{}", a.to_json())
                        } else {
                            writeln!(out, "{}", a.output)
                        };
                        if let Err(e) = r {
                            failed = Some(e);
                        }
                    }
                });
                if let Some(e) = failed {
                    return Err(e.into());
                }
            }
            Ok(n)
        });
        match n {
            Ok(n) => alerts += n,
            Err(e) => {
                if let Some(ioe) = e.downcast_ref::<io::Error>() {
                    if ioe.kind() == io::ErrorKind::BrokenPipe {
                        return Ok(ExitCode::from(1));
                    }
                }
                return Err(e);
            }
        }
    }
    out.flush().ok();
    Ok(if alerts == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
