//! Measures evaluation throughput with all three upstream rules files loaded, on synthetic
//! events that mostly do not match. `cargo run --release -p blackbox-rules --example bench`.
#![allow(clippy::print_stdout)]

use std::borrow::Cow;
use std::time::Instant;

use blackbox_rules::{field_id, Engine, EngineConfig, EventAccess, FieldArg, FieldId, Value};

struct Ev {
    t: &'static str,
    name: FieldId,
}

impl EventAccess for Ev {
    fn event_type(&self) -> &str {
        self.t
    }
    fn extract(&mut self, field: FieldId, _arg: Option<&FieldArg>) -> Option<Value<'_>> {
        if field == self.name {
            Some(Value::Str(Cow::Borrowed("nginx")))
        } else {
            None
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var("FALCO_RULES_DIR").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpus/falco-rules"
        )
        .into()
    });
    let files: Vec<String> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| format!("{dir}/{f}"))
    .collect();
    let mut engine = Engine::new(EngineConfig::default());
    let r = engine.load_files(&files)?;
    println!(
        "loaded {} rules, {} errors",
        engine.ruleset().rules().len(),
        r.errors().count()
    );
    let name = field_id("proc.name").ok_or("proc.name")?;
    let types = [
        "read",
        "write",
        "openat",
        "close",
        "execve",
        "connect",
        "mmap",
        "futex",
        "sendto",
        "epoll_wait",
    ];
    let n = 2_000_000u64;
    let mut matches = 0usize;
    let start = Instant::now();
    for i in 0..n {
        let mut ev = Ev {
            t: types[(i % types.len() as u64) as usize],
            name,
        };
        matches += engine.ruleset().evaluate(&mut ev, |_, _| {});
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} events in {secs:.3}s: {:.0} events/s ({matches} matches)",
        n as f64 / secs
    );
    Ok(())
}
