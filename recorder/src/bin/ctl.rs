//! `blackbox-recorder-ctl`: operator and test tool for the recorder.
//!
//! ```text
//! blackbox-recorder-ctl open [--pin-root DIR]          load or reuse; prints "loaded" or "reused"
//! blackbox-recorder-ctl record CGROUP [--pin-root DIR] [--seconds N] [--snaplen N] [--quiet]
//!                                                      register CGROUP and print its records
//! blackbox-recorder-ctl unpin [--pin-root DIR]         remove every pin (detaches the programs)
//! blackbox-recorder-ctl floor [--seconds N]            attach do-nothing programs to sys_enter and
//!                                                      sys_exit for N s (default 3600) or until
//!                                                      killed: the benchmark's floor
//! ```
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: stdout is its output"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use blackbox_recorder::{
    pins, CgroupRef, Floor, LoadOutcome, Recorder, RecorderOptions, RecordingPolicy, DEFAULT_POLL,
};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blackbox-recorder-ctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut options = RecorderOptions::default();
    let mut policy = RecordingPolicy::default();
    let mut seconds = None;
    let mut quiet = false;
    let mut positional = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--pin-root" => options.pin_root = PathBuf::from(value("--pin-root")?),
            "--seconds" => {
                seconds = Some(
                    value("--seconds")?
                        .parse::<u64>()
                        .map_err(|e| format!("--seconds: {e}"))?,
                )
            }
            "--quiet" => quiet = true,
            "--snaplen" => {
                policy.snaplen = value("--snaplen")?
                    .parse()
                    .map_err(|e| format!("--snaplen: {e}"))?
            }
            _ => positional.push(a),
        }
    }
    match positional.first().map(String::as_str) {
        Some("open") => {
            let rec = Recorder::open(&options).map_err(|e| e.to_string())?;
            println!(
                "{}",
                if rec.load_outcome() == LoadOutcome::Loaded {
                    "loaded"
                } else {
                    "reused"
                }
            );
            Ok(())
        }
        Some("unpin") => pins::remove_all_pins(&options.pin_root).map_err(|e| e.to_string()),
        Some("record") => {
            let cgroup = positional.get(1).ok_or("record needs a cgroup path")?;
            let mut rec = Recorder::open(&options).map_err(|e| e.to_string())?;
            let mut c = rec
                .register(&CgroupRef::Path(cgroup.into()), policy)
                .map_err(|e| e.to_string())?;
            let end = Instant::now() + Duration::from_secs(seconds.unwrap_or(10));
            let mut count = 0u64;
            while Instant::now() < end {
                c.poll_records(DEFAULT_POLL, |r| {
                    count += 1;
                    if !quiet {
                        println!("{r:?}");
                    }
                })
                .map_err(|e| e.to_string())?;
            }
            c.unregister().map_err(|e| e.to_string())?;
            c.drain(|r| {
                count += 1;
                if !quiet {
                    println!("{r:?}");
                }
            });
            println!("records read: {count}");
            println!("{:?}", c.losses().map_err(|e| e.to_string())?);
            Ok(())
        }
        Some("floor") => {
            let _floor = Floor::attach().map_err(|e| e.to_string())?;
            println!("attached");
            std::io::Write::flush(&mut std::io::stdout()).map_err(|e| e.to_string())?;
            std::thread::sleep(Duration::from_secs(seconds.unwrap_or(3600)));
            Ok(())
        }
        _ => Err(
            "usage: blackbox-recorder-ctl open|record CGROUP|unpin|floor [--pin-root DIR] [--seconds N]"
                .into(),
        ),
    }
}
