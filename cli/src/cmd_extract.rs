//! `blackbox extract`: the file-system diff under a directory, never outside it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use blackbox_archive::extract_fs;
use clap::Args;

use crate::archive_args::{open, print_json};
use crate::ARCHIVE_EXIT_STATUS_HELP;

const EXAMPLES: &str = "\
Examples:
  blackbox extract archive.tar --rootfs /tmp/evidence/web
  blackbox extract archive.tar.zst --rootfs ./diff --json

Regular files, directories, symlinks (created, never followed) and hard links are recreated
with their permission bits (without set-id bits; ownership is not applied). Device nodes,
FIFOs, sockets and whiteouts (deleted files) are listed in fsdiff.jsonl but not created.
Nothing is ever written outside DIR: absolute and `..` names are refused, symlinks already in
DIR are not followed, and existing files are not overwritten.";

/// `blackbox extract`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct ExtractArgs {
    /// The archive (.tar or .tar.zst)
    archive: PathBuf,
    /// Directory to write the diff under (created if missing)
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &ExtractArgs) -> Result<ExitCode> {
    let archive = open(&args.archive)?;
    let pb = crate::progress::spinner("extracting");
    let report = extract_fs(&archive, &args.rootfs);
    crate::progress::done(pb);
    let report = report?;
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "{}: {} files, {} directories, {} symlinks, {} hard links written under {}",
            args.archive.display(),
            report.files,
            report.dirs,
            report.symlinks,
            report.hardlinks,
            args.rootfs.display()
        );
        for (path, why) in &report.skipped {
            println!("  not created: {path}: {why}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
