//! `blackbox`: the operator's and investigator's command line.
//!
//! One module per command group (`cmd_install` for install/uninstall, one per archive
//! command); `main` only parses the command line and maps the outcome to an exit status.

// A command-line tool prints its results.
#![allow(clippy::print_stdout)]

mod archive_args;
mod capture_input;
mod cmd_events;
mod cmd_events_filter;
mod cmd_extract;
mod cmd_info;
mod cmd_install;
mod cmd_ls;
mod cmd_recover;
mod cmd_rules;
mod cmd_scan;
mod cmd_verify;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shown under the install commands' help.
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (also when there was nothing to do)
  1  error; the message names the file or command involved. Nothing is half-written:
     every file is replaced atomically, and re-running the command is safe.
  2  usage error (unknown option, bad value)";

/// Shown under the archive commands' help.
pub(crate) const ARCHIVE_EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  verify: the archive was tampered with (the message names the member);
     recover: some working directories could not be sealed
  2  bad input: not an archive, unreadable, damaged or truncated (the message names the
     file and what is wrong), or a usage error";

#[derive(Debug, Parser)]
#[command(
    name = "blackbox",
    version,
    about = "blackbox: a containerd runtime for Kubernetes with a flight recorder",
    long_about = "blackbox: a containerd runtime for Kubernetes with a flight recorder.\n\n\
                  Pods with `runtimeClassName: blackbox` run through the blackbox shim, which records \
                  what their containers do and seals the evidence when they exit.",
    after_help = EXIT_STATUS_HELP,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install the shim on this node and register the `blackbox` runtime handler with containerd.
    Install(cmd_install::InstallArgs),
    /// Undo `blackbox install`: restore containerd's config and remove the installed files.
    Uninstall(cmd_install::UninstallArgs),
    /// List sealed archives.
    Ls(cmd_ls::LsArgs),
    /// Show an archive's metadata: container, pod, times, exit, drops, seal state, sizes.
    Info(cmd_info::InfoArgs),
    /// Check an archive's signature and every member's hash.
    Verify(cmd_verify::VerifyArgs),
    /// Print the recorded events, one line each (as sysdig does); FILTER and -p as sysdig's.
    Events(cmd_events::EventsArgs),
    /// Evaluate Falco rules on archives or SCAP files and print the alerts.
    Scan(cmd_scan::ScanArgs),
    /// Check Falco rules files.
    Rules(cmd_rules::RulesArgs),
    /// List the fields of conditions and outputs, and which ones blackbox provides.
    Fields(cmd_rules::FieldsArgs),
    /// Write the archive's capture to a file that `sysdig -r` reads.
    Export(cmd_events::ExportArgs),
    /// Write the archive's file-system diff under a directory (and never outside it).
    Extract(cmd_extract::ExtractArgs),
    /// Seal the working directories of containers whose shim died.
    Recover(cmd_recover::RecoverArgs),
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 inside `parse` (and --help/--version with 0).
    let cli = Cli::parse();
    let archive_cmd = |r: anyhow::Result<ExitCode>| match r {
        Ok(code) => code,
        Err(err) => {
            eprintln!("blackbox: error: {err:#}");
            ExitCode::from(2)
        }
    };
    let install_cmd = |r: anyhow::Result<()>| match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("blackbox: error: {err:#}");
            ExitCode::from(1)
        }
    };
    match cli.command {
        Command::Install(args) => install_cmd(cmd_install::run_install(&args)),
        Command::Uninstall(args) => install_cmd(cmd_install::run_uninstall(&args)),
        Command::Ls(args) => archive_cmd(cmd_ls::run(&args)),
        Command::Info(args) => archive_cmd(cmd_info::run(&args)),
        Command::Verify(args) => archive_cmd(cmd_verify::run(&args)),
        Command::Events(args) => archive_cmd(cmd_events::run_events(&args)),
        Command::Scan(args) => archive_cmd(cmd_scan::run(&args)),
        Command::Rules(args) => archive_cmd(cmd_rules::run(&args)),
        Command::Fields(args) => archive_cmd(cmd_rules::run_fields(&args)),
        Command::Export(args) => archive_cmd(cmd_events::run_export(&args)),
        Command::Extract(args) => archive_cmd(cmd_extract::run(&args)),
        Command::Recover(args) => archive_cmd(cmd_recover::run(&args)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
