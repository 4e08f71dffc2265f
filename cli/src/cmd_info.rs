//! `blackbox info`: what an archive says about its container.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use blackbox_archive::verify;
use clap::Args;
use serde::Serialize;

use crate::archive_args::{human, open, print_json};
use crate::ARCHIVE_EXIT_STATUS_HELP;

const EXAMPLES: &str = "\
Examples:
  blackbox info prod/web/nginx-0123456789ab-20240501T120000Z.tar
  blackbox info --json archive.tar.zst | jq .metadata.exit";

/// `blackbox info`.
#[derive(Debug, Args)]
#[command(after_help = format!("{EXAMPLES}\n\n{ARCHIVE_EXIT_STATUS_HELP}"))]
pub struct InfoArgs {
    /// The archive (.tar or .tar.zst)
    archive: PathBuf,
    /// Print as one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct MemberRow {
    name: String,
    size: u64,
    sha256: String,
}

#[derive(Serialize)]
struct Info {
    path: String,
    file_size: u64,
    compression: &'static str,
    intact: bool,
    key_fingerprint: Option<String>,
    metadata: blackbox_archive::Metadata,
    members: Vec<MemberRow>,
}

pub(crate) fn run(args: &InfoArgs) -> Result<ExitCode> {
    let archive = open(&args.archive)?;
    let metadata = archive.metadata()?;
    let report = verify(&archive, None);
    let info = Info {
        path: args.archive.display().to_string(),
        file_size: archive.file_size(),
        compression: match archive.kind() {
            blackbox_archive::ArchiveKind::Tar => "none",
            blackbox_archive::ArchiveKind::TarZstd => "zstd",
        },
        intact: report.intact(),
        key_fingerprint: report.key_fingerprint.clone(),
        metadata,
        members: archive
            .members()
            .iter()
            .map(|m| MemberRow {
                name: m.display_name(),
                size: m.size,
                sha256: hex_of(&m.sha256),
            })
            .collect(),
    };
    if args.json {
        print_json(&info)?;
        return Ok(ExitCode::SUCCESS);
    }
    let m = &info.metadata;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!(
        "archive:      {} ({}, {})",
        info.path,
        human(info.file_size),
        info.compression
    );
    println!(
        "container:    {} ({})",
        opt(&m.container_name),
        m.container_id
    );
    println!(
        "pod:          {}/{} (uid {})",
        opt(&m.pod_namespace),
        opt(&m.pod_name),
        opt(&m.pod_uid)
    );
    println!(
        "image:        {} {}",
        opt(&m.image),
        m.image_digest.as_deref().unwrap_or("")
    );
    println!("node:         {}", opt(&m.node_name));
    println!("created:      {}", m.created_at);
    println!("started:      {}", opt(&m.started_at));
    println!("exited:       {}", opt(&m.exited_at));
    let exit = match m.exit {
        Some(e) => match (e.code, e.signal) {
            (_, Some(s)) => format!("killed by signal {s}"),
            (Some(c), None) => format!("exit code {c}"),
            (None, None) => "-".into(),
        },
        None => "-".into(),
    };
    println!(
        "exit:         {exit}{}",
        if m.oom_killed { " (OOM killed)" } else { "" }
    );
    if let Some(s) = &m.seal {
        println!("seal:         {} at {}", s.state.as_str(), s.sealed_at);
        println!(
            "capture:      {} in {} segment(s){}",
            human(s.capture_bytes),
            s.capture_segments.len(),
            if s.capture_trimmed_bytes > 0 {
                format!(
                    ", {} damaged bytes kept aside in capture.tail",
                    s.capture_trimmed_bytes
                )
            } else {
                String::new()
            }
        );
        println!(
            "fs diff:      {} entries, {} of file contents copied",
            s.fsdiff_entries,
            human(s.fsdiff_copied_bytes)
        );
    }
    if m.drops.is_empty() {
        println!("drops:        none");
    } else {
        let d: Vec<String> = m.drops.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("drops:        {}", d.join(" "));
    }
    println!(
        "integrity:    {} (key {})",
        if info.intact {
            "intact"
        } else {
            "TAMPERED (run blackbox verify)"
        },
        info.key_fingerprint.as_deref().unwrap_or("?")
    );
    for n in &m.notes {
        println!("note:         {n}");
    }
    println!("members:");
    for r in &info.members {
        println!("  {:>10}  {}", human(r.size), r.name);
    }
    Ok(ExitCode::SUCCESS)
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
