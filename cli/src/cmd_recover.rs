//! `blackbox recover`: seal the working directories of containers whose shim died.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use blackbox_archive::{recover, NodeKey, RecoverAction, RecoverOptions};
use clap::Args;

use crate::archive_args::node_config;
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
    /// Root of the working directories [default: the node config's `[recording] work_dir`,
    /// /var/lib/blackbox/work]
    #[arg(long, value_name = "DIR")]
    work_root: Option<PathBuf>,
    /// Root of the archive tree [default: `[archive] archives_dir`, /var/lib/blackbox/archives]
    #[arg(long, value_name = "DIR")]
    archives_root: Option<PathBuf>,
    /// The node's private key, to sign the archives [default: `[archive] node_key`,
    /// /etc/blackbox/node.key]
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Compress archives with zstd (.tar.zst) [default: `[archive] compression`]
    #[arg(long)]
    zstd: bool,
    /// The node config the defaults come from [default: /etc/blackbox/config.toml]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: &RecoverArgs) -> Result<ExitCode> {
    let explicit = args.work_root.is_some() && args.archives_root.is_some() && args.key.is_some();
    let config = if explicit {
        None
    } else {
        Some(node_config(args.config.as_deref())?)
    };
    let pick = |flag: &Option<PathBuf>, from: fn(&blackbox_config::NodeConfig) -> PathBuf| {
        flag.clone()
            .or_else(|| config.as_ref().map(from))
            .unwrap_or_default()
    };
    let work_root = pick(&args.work_root, |c| c.recording.work_dir.clone());
    let archives_root = pick(&args.archives_root, |c| c.archive.archives_dir.clone());
    let key_path = pick(&args.key, |c| c.archive.node_key.clone());
    let key = if args.dry_run {
        None
    } else {
        Some(NodeKey::load(&key_path).with_context(|| {
            "the node key signs recovered archives (`blackbox install` creates it)".to_owned()
        })?)
    };
    let mut opts = RecoverOptions::new(&archives_root);
    opts.dry_run = args.dry_run;
    let configured_zstd = config.as_ref().and_then(|c| {
        (c.archive.compression == blackbox_config::ArchiveCompressionName::Zstd)
            .then_some(c.archive.zstd_level)
    });
    if args.zstd {
        opts.compression = blackbox_archive::ArchiveCompression::Zstd(configured_zstd.unwrap_or(3));
    } else if let Some(level) = configured_zstd {
        opts.compression = blackbox_archive::ArchiveCompression::Zstd(level);
    }
    if let Some(c) = &config {
        opts.content_cap = c.archive.content_cap_bytes;
        opts.min_free_bytes = c.archive.min_free_bytes;
    }
    let pb = crate::progress::spinner("recovering");
    let outcomes = recover(&work_root, key.as_ref(), &opts);
    crate::progress::done(pb);
    let outcomes = outcomes?;
    let mut failed = 0;
    if outcomes.is_empty() {
        println!("nothing to recover under {}", work_root.display());
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
