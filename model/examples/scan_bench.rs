//! Offline scan throughput: events/s on one core for (1) reading and decoding a capture,
//! (2) + the event model, (3) + all upstream Falco rules (stable, incubating, sandbox).
//!
//! `cargo run --release -p blackbox-model --example scan_bench [-- CAPTURE.scap [RULES_DIR]]`
//! Without a capture, one of ~1M events is written first (the model tests' sample pattern,
//! repeated with fresh thread ids), to a temporary file.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use blackbox_model::Model;
use blackbox_rules::{Engine, EngineConfig, RuleMatching};
use blackbox_scap::{Compression, ScapReader, ScapWriter};

fn synth(path: &Path, rounds: u64) {
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = ScapWriter::new(f, Compression::None);
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("s.scap");
    common::write_sample(&sample);
    let r = ScapReader::open(&sample).unwrap();
    let meta = r.metadata().clone();
    w.write_section(&blackbox_scap::SectionMetadata {
        machine: meta.machine,
        interfaces: meta.interfaces,
        users: meta.users,
        groups: meta.groups,
        processes: meta.processes,
        fds: meta.fds,
    })
    .unwrap();
    w.write_container(common::T0, &common::container()).unwrap();
    let events = common::sample_events();
    for i in 0..rounds {
        for e in &events {
            let mut e = e.clone();
            e.ts += i * 100_000;
            w.write_event(&e).unwrap();
        }
    }
    w.finish().unwrap();
}

/// CPU time of this thread so far (s), from /proc (0 where unavailable): on a shared
/// machine wall time also counts the time other processes held the core.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

fn run(path: &Path, engine: Option<&Engine>, model_on: bool) -> (u64, f64, u64, f64) {
    let start = Instant::now();
    let cpu0 = cpu_secs();
    let mut reader = ScapReader::open(path).unwrap();
    let mut model = Model::from_reader(&reader);
    let (mut n, mut alerts) = (0u64, 0u64);
    while let Some(rec) = reader.next_event() {
        let rec = rec.unwrap();
        n += 1;
        if !model_on {
            std::hint::black_box(&rec);
            continue;
        }
        model.process(rec);
        if let Some(e) = engine {
            alerts += e.ruleset().evaluate(&mut model, |_, _| {}) as u64;
        }
    }
    (n, start.elapsed().as_secs_f64(), alerts, cpu_secs() - cpu0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = match args.get(1) {
        Some(p) => PathBuf::from(p),
        None => {
            let p = tmp.path().join("bench.scap");
            synth(&p, 36_000);
            p
        }
    };
    let rules_dir = PathBuf::from(args.get(2).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpus/falco-rules"
        )
        .into()
    }));
    let mut engine = Engine::new(EngineConfig {
        rule_matching: RuleMatching::All,
        ..EngineConfig::default()
    });
    let files: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| rules_dir.join(f))
    .collect();
    let load = engine.load_files(&files).unwrap();
    assert!(load.is_ok(), "rules do not load");
    println!(
        "capture {} ({} bytes), {} rules",
        path.display(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        engine.ruleset().rules().len()
    );
    for (label, eng, model) in [
        ("read+decode", None, false),
        ("read+decode+model", None, true),
        ("read+decode+model+all rules", Some(&engine), true),
    ] {
        let (n, secs, alerts, cpu) = run(&path, eng, model);
        println!(
            "{label:<30} {n} events in {secs:.3} s = {:.0} events/s, cpu {cpu:.3} s = {:.0} events/cpu-s ({alerts} matches)",
            n as f64 / secs,
            n as f64 / cpu
        );
    }
}
