//! `blackbox`: the operator's and investigator's command line.
//!
//! One module per command group (`cmd_install` for install/uninstall); `main` only parses the
//! command line and maps the outcome to an exit status.

// A command-line tool prints its results.
#![allow(clippy::print_stdout)]

mod cmd_install;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shown under every command's help.
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (also when there was nothing to do)
  1  error; the message names the file or command involved. Nothing is half-written:
     every file is replaced atomically, and re-running the command is safe.
  2  usage error (unknown option, bad value)";

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
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 inside `parse` (and --help/--version with 0).
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Install(args) => cmd_install::run_install(&args),
        Command::Uninstall(args) => cmd_install::run_uninstall(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("blackbox: error: {err:#}");
            ExitCode::from(1)
        }
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
