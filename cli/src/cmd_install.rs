//! `blackbox install` and `blackbox uninstall`: thin wrappers around `blackbox_install` that
//! turn flags into options, print the plan, apply it and optionally restart containerd.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use blackbox_install::{
    defaults, mark_restart_done, plan_install, plan_uninstall, restart_containerd, CommandLine,
    ConfigSchema, InstallOptions, Plan, ProbeMethod, RestartOptions, UninstallOptions,
    NODE_LABEL_KEY, NODE_LABEL_VALUE,
};
use clap::Args;

const INSTALL_EXAMPLES: &str = "\
Examples:
  # See what would change, without changing anything:
  blackbox install --dry-run

  # Install and restart containerd so it picks up the new runtime handler:
  sudo blackbox install --restart

  # From a DaemonSet container (host paths mounted at the same paths, hostPID):
  blackbox install --source-dir /opt/blackbox/bin --restart \\
      --restart-command 'nsenter --target 1 --mount --uts --ipc --net --pid -- systemctl restart containerd'

  # A node without /etc/containerd/config.toml running containerd 2.x:
  sudo blackbox install --containerd-config-version 3 --restart";

const UNINSTALL_EXAMPLES: &str = "\
Examples:
  # See what would be restored and removed:
  blackbox uninstall --dry-run

  # Uninstall and restart containerd (drain blackbox pods from the node first):
  sudo blackbox uninstall --restart";

/// Where things live on the node; shared by install and uninstall.
#[derive(Debug, Args)]
pub struct NodePaths {
    /// containerd's main config file, edited in place (comments and formatting are kept)
    #[arg(long, value_name = "PATH", default_value = defaults::CONTAINERD_CONFIG)]
    config: PathBuf,

    /// blackbox's directory: runtime options, config backup, install state
    #[arg(long, value_name = "DIR", default_value = defaults::BLACKBOX_DIR)]
    blackbox_dir: PathBuf,

    /// Directory the binaries are installed into
    #[arg(long, value_name = "DIR", default_value = defaults::BIN_DIR)]
    bin_dir: PathBuf,

    /// Show what would change (with diffs) and change nothing
    #[arg(long)]
    dry_run: bool,
}

/// Restarting containerd after the change.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Restart containerd when its config changed, and wait until it answers again
    #[arg(long)]
    restart: bool,

    /// Shell command that restarts containerd [default: `systemctl restart containerd` when
    /// systemd runs the machine]
    #[arg(long, value_name = "COMMAND", requires = "restart")]
    restart_command: Option<String>,

    /// Seconds to wait for the restart and for containerd to answer
    #[arg(long, value_name = "SECONDS", default_value_t = defaults::RESTART_TIMEOUT_SECS, requires = "restart")]
    restart_timeout: u64,

    /// containerd's socket, probed after the restart
    #[arg(long, value_name = "PATH", default_value = defaults::CONTAINERD_ADDRESS)]
    containerd_address: PathBuf,

    /// `ctr` used to probe containerd (program and arguments, split on whitespace); without
    /// it the socket is probed with an HTTP/2 handshake
    #[arg(long, value_name = "COMMAND", default_value = "ctr")]
    ctr: String,
}

/// `blackbox install`.
#[derive(Debug, Args)]
#[command(after_help = format!("{INSTALL_EXAMPLES}\n\n{}", crate::EXIT_STATUS_HELP))]
pub struct InstallArgs {
    #[command(flatten)]
    paths: NodePaths,

    /// Directory holding the binaries to install [default: the directory of this executable]
    #[arg(long, value_name = "DIR")]
    source_dir: Option<PathBuf>,

    /// containerd binary (program and arguments, split on whitespace), asked for its version
    /// when the config file does not exist yet
    #[arg(long, value_name = "COMMAND", default_value = "containerd")]
    containerd: String,

    /// Config schema for a config file that does not exist yet (2: containerd 1.x, 3:
    /// containerd 2.x) instead of asking containerd
    #[arg(long, value_name = "VERSION", value_parser = clap::value_parser!(i64).range(1..=3))]
    containerd_config_version: Option<i64>,

    #[command(flatten)]
    restart: RestartArgs,
}

/// `blackbox uninstall`.
#[derive(Debug, Args)]
#[command(after_help = format!("{UNINSTALL_EXAMPLES}\n\n{}", crate::EXIT_STATUS_HELP))]
pub struct UninstallArgs {
    #[command(flatten)]
    paths: NodePaths,

    #[command(flatten)]
    restart: RestartArgs,
}

fn default_source_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow!("{} has no parent directory", exe.display()))
}

/// Runs `blackbox install`.
pub fn run_install(args: &InstallArgs) -> Result<()> {
    let source_dir = match &args.source_dir {
        Some(dir) => dir.clone(),
        None => default_source_dir()?,
    };
    let options = InstallOptions {
        config_path: args.paths.config.clone(),
        blackbox_dir: args.paths.blackbox_dir.clone(),
        bin_dir: args.paths.bin_dir.clone(),
        source_dir,
        containerd: args.containerd.parse()?,
        config_schema: args
            .containerd_config_version
            .and_then(ConfigSchema::from_version),
    };
    let plan = plan_install(&options)?;
    report(&plan, "install", args.paths.dry_run);
    if args.paths.dry_run {
        return Ok(());
    }
    plan.apply()
        .context("install stopped part-way; fix the cause and run it again")?;
    finish_restart(&plan, &args.restart, Some(&args.paths.blackbox_dir))?;
    if !plan.is_empty() {
        println!(
            "To schedule blackbox pods on this node, label it: kubectl label node <node> {NODE_LABEL_KEY}={NODE_LABEL_VALUE}"
        );
    }
    Ok(())
}

/// Runs `blackbox uninstall`.
pub fn run_uninstall(args: &UninstallArgs) -> Result<()> {
    let options = UninstallOptions {
        config_path: args.paths.config.clone(),
        blackbox_dir: args.paths.blackbox_dir.clone(),
        bin_dir: args.paths.bin_dir.clone(),
    };
    let plan = plan_uninstall(&options)?;
    report(&plan, "uninstall", args.paths.dry_run);
    if args.paths.dry_run {
        return Ok(());
    }
    plan.apply()
        .context("uninstall stopped part-way; fix the cause and run it again")?;
    finish_restart(&plan, &args.restart, None)
}

/// Prints the plan: operations (with diffs in a dry run), notes and warnings.
fn report(plan: &Plan, verb: &str, dry_run: bool) {
    if plan.is_empty() {
        println!("blackbox {verb}: nothing to change");
    } else if dry_run {
        println!("blackbox {verb} --dry-run: nothing was changed; a real run would:");
        print!("{}", plan.describe(true));
    } else {
        println!("blackbox {verb}:");
        print!("{}", plan.describe(false));
    }
    for note in &plan.notes {
        println!("note: {note}");
    }
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    if dry_run && plan.restart_needed {
        println!("containerd would need a restart (--restart does it)");
    }
}

/// Restarts containerd if asked to and needed, or says that it is needed.
fn finish_restart(plan: &Plan, args: &RestartArgs, blackbox_dir: Option<&Path>) -> Result<()> {
    if !plan.restart_needed {
        if args.restart {
            println!("containerd restart not needed: its config did not change");
        }
        return Ok(());
    }
    if !args.restart {
        // After an install the state remembers the pending restart, so a later
        // `install --restart` does it; after an uninstall there is no state left.
        let how = match blackbox_dir {
            Some(_) => "run `blackbox install --restart`, or `systemctl restart containerd`",
            None => "`systemctl restart containerd`",
        };
        println!("containerd must be restarted to apply the change: {how}");
        return Ok(());
    }
    let ctr: CommandLine = args.ctr.parse()?;
    let options = RestartOptions {
        restart_command: args.restart_command.clone(),
        containerd_address: args.containerd_address.clone(),
        ctr,
        timeout: Duration::from_secs(args.restart_timeout),
    };
    println!("restarting containerd...");
    let report = restart_containerd(&options)?;
    let probe = match report.probe {
        ProbeMethod::Ctr => "ctr version",
        ProbeMethod::Handshake => "an HTTP/2 handshake (ctr not found)",
    };
    println!(
        "containerd restarted with `{}` and answered on {} after {:.1}s (checked with {probe})",
        report.command,
        args.containerd_address.display(),
        report.elapsed.as_secs_f64()
    );
    if let Some(dir) = blackbox_dir {
        mark_restart_done(dir)?;
    }
    Ok(())
}
