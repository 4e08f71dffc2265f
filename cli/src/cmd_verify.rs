//! `blackbox verify`: signature and hashes; exit 0 intact, 1 tampered, 2 unreadable.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use blackbox_archive::{verify, PublicKey};
use clap::Args;

use crate::archive_args::{open, print_json};
use crate::ARCHIVE_EXIT_STATUS_HELP;

const EXAMPLES: &str = "\
Examples:
  # Check against the node's public key (proves the node sealed it):
  blackbox verify --key /etc/blackbox/node.key.pub prod/web/nginx-0123456789ab-20240501T120000Z.tar

  # Without --key the archive's own public key is used: proves integrity, not origin.
  blackbox verify archive.tar.zst

--key takes the node's public key file (SPKI PEM, as `blackbox install` writes next to the
private key), 64 hex digits of the raw key, or the private key file itself.";

/// `blackbox verify`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct VerifyArgs {
    /// The archive (.tar or .tar.zst)
    archive: PathBuf,
    /// Public key to verify against
    #[arg(long, value_name = "PUBKEY")]
    key: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &VerifyArgs) -> Result<ExitCode> {
    let key = args.key.as_deref().map(PublicKey::load).transpose()?;
    let archive = open(&args.archive)?;
    let report = verify(&archive, key.as_ref());
    if args.json {
        print_json(&report)?;
    } else if let Some(p) = report.first_problem() {
        eprintln!(
            "{}: TAMPERED: member {}: {}",
            args.archive.display(),
            p.member,
            p.reason
        );
        for p in report.problems.iter().skip(1) {
            eprintln!("  also: member {}: {}", p.member, p.reason);
        }
    } else {
        println!(
            "{}: OK: {} members match the manifest; signature by key {} is valid{}",
            args.archive.display(),
            report.members_checked,
            report.key_fingerprint.as_deref().unwrap_or("?"),
            if report.key_trusted {
                ""
            } else {
                " (checked with the key the archive carries: pass --key to prove origin)"
            }
        );
    }
    Ok(if report.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
