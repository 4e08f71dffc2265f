//! `blackbox rules validate` and `blackbox fields`: the rules engine's view of rules files
//! and of the fields it knows.

use std::process::ExitCode;

use anyhow::Result;
use blackbox_model::{field_support, Support};
use blackbox_rules::{Engine, EngineConfig, Severity, FIELDS};
use clap::{Args, Subcommand};

/// `blackbox rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Load rules files as Falco would and report every error and warning.
    #[command(after_help = "\
Prints one line per problem, `FILE:LINE:COL: error|warning CODE (item 'name'): message`,
then a summary, like `falco --validate`. Files are loaded in order, later ones amending
earlier ones (append/override).

Exit status:
  0  the files load (warnings allowed)
  1  at least one error
  2  a file cannot be read, or a usage error")]
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Rules files, in load order
    #[arg(required = true, value_name = "FILE")]
    files: Vec<std::path::PathBuf>,
}

pub(crate) fn run(args: &RulesArgs) -> Result<ExitCode> {
    match &args.command {
        RulesCommand::Validate(v) => validate(v),
    }
}

fn validate(args: &ValidateArgs) -> Result<ExitCode> {
    let mut engine = Engine::new(EngineConfig::default());
    let result = engine.load_files(&args.files)?;
    let (mut errors, mut warnings) = (0, 0);
    for m in &result.messages {
        let sev = match m.severity {
            Severity::Error => {
                errors += 1;
                "error"
            }
            Severity::Warning => {
                warnings += 1;
                "warning"
            }
        };
        let item = if m.item_type.is_empty() {
            String::new()
        } else {
            format!(" ({} '{}')", m.item_type, m.item_name)
        };
        println!(
            "{}:{}:{}: {sev} {}{item}: {}",
            m.file, m.line, m.col, m.code, m.message
        );
    }
    let rules = engine.ruleset().rules();
    let enabled = rules.iter().filter(|r| r.enabled).count();
    for f in &args.files {
        println!(
            "{}: {}",
            f.display(),
            if errors == 0 { "Ok" } else { "Invalid" }
        );
    }
    println!(
        "{} rules ({enabled} enabled), {errors} errors, {warnings} warnings",
        rules.len()
    );
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `blackbox fields`.
#[derive(Debug, Args)]
#[command(after_help = "\
Every field the rules engine knows (Falco's libsinsp fields and the container plugin's), with
its type, argument, description and whether blackbox gives it a value: `yes`, `partial`
(with the limitation) or `no` (always missing, `<NA>` in outputs, false in conditions).")]
pub struct FieldsArgs {
    /// One JSON object per field
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_fields(args: &FieldsArgs) -> Result<ExitCode> {
    for (i, f) in FIELDS.iter().enumerate() {
        let id = blackbox_rules::FieldId(u16::try_from(i)?);
        let (support, note) = match field_support(id) {
            Support::Yes => ("yes", ""),
            Support::Partial(n) => ("partial", n),
            Support::No(n) => ("no", n),
        };
        let arg = match f.arg {
            blackbox_rules::ArgKind::None => "",
            blackbox_rules::ArgKind::Optional => "optional",
            blackbox_rules::ArgKind::Required => "required",
        };
        if args.json {
            let v = serde_json::json!({
                "name": f.name,
                "type": f.ftype.falco_name(),
                "arg": arg,
                "description": f.description,
                "provided": support,
                "note": note,
            });
            println!("{v}");
        } else {
            let name = if arg.is_empty() {
                f.name.to_string()
            } else {
                format!("{}[{arg}]", f.name)
            };
            let note = if note.is_empty() {
                String::new()
            } else {
                format!(" ({note})")
            };
            println!(
                "{name:<44} {:<8} {support:<7} {}{note}",
                f.ftype.falco_name(),
                f.description
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
