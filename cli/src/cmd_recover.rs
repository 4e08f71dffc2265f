//! `blackbox recover`: seal the working directories of containers whose shim died.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use blackbox_archive::{recover, NodeKey, RecoverAction, RecoverOptions};
use clap::Args;

use crate::archive_args::{DEFAULT_ARCHIVES_ROOT, DEFAULT_NODE_KEY, DEFAULT_WORK_ROOT};
use crate::ARCHIVE_EXIT_STATUS_HELP;

const EXAMPLES: &str = "\
Examples:
  # What would be sealed:
  sudo blackbox recover --dry-run

  # Seal them (as `recovered`), after a node reboot or a shim crash:
  sudo blackbox recover

A working directory is taken over only when its owner is gone: nobody holds its lock and the
process in its owner.pid is not running (a reused pid is told apart by its start time).
A capture cut short by the crash is kept up to its last complete block; the damaged bytes
go into the member capture.tail.";

/// `blackbox recover`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct RecoverArgs {
    /// Only list what would be sealed
    #[arg(long)]
    dry_run: bool,
    /// Root of the working directories
    #[arg(long, value_name = "DIR", default_value = DEFAULT_WORK_ROOT)]
    work_root: PathBuf,
    /// Root of the archive tree
    #[arg(long, value_name = "DIR", default_value = DEFAULT_ARCHIVES_ROOT)]
    archives_root: PathBuf,
    /// The node's private key, to sign the archives
    #[arg(long, value_name = "FILE", default_value = DEFAULT_NODE_KEY)]
    key: PathBuf,
    /// Compress archives with zstd (.tar.zst)
    #[arg(long)]
    zstd: bool,
}

pub(crate) fn run(args: &RecoverArgs) -> Result<ExitCode> {
    let key = if args.dry_run {
        None
    } else {
        Some(NodeKey::load(&args.key).with_context(|| {
            "the node key signs recovered archives (`blackbox install` creates it)".to_owned()
        })?)
    };
    let mut opts = RecoverOptions::new(&args.archives_root);
    opts.dry_run = args.dry_run;
    if args.zstd {
        opts.compression = blackbox_archive::ArchiveCompression::Zstd(3);
    }
    let pb = crate::progress::spinner("recovering");
    let outcomes = recover(&args.work_root, key.as_ref(), &opts);
    crate::progress::done(pb);
    let outcomes = outcomes?;
    let mut failed = 0;
    if outcomes.is_empty() {
        println!("nothing to recover under {}", args.work_root.display());
    }
    for o in &outcomes {
        let dir = o.work_dir.display();
        match &o.action {
            RecoverAction::Sealed(a) => {
                println!("{dir}: sealed as recovered -> {}", a.path.display())
            }
            RecoverAction::WouldSeal => println!("{dir}: would be sealed as recovered"),
            RecoverAction::InUse(why) => println!("{dir}: in use, left alone ({why})"),
            RecoverAction::LeftoverRemoved(a) => println!(
                "{dir}: already sealed into {}; {}",
                a.display(),
                if args.dry_run {
                    "would remove the leftover directory"
                } else {
                    "leftover directory removed"
                }
            ),
            RecoverAction::Failed(e) => {
                failed += 1;
                eprintln!("{dir}: FAILED: {e}");
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
