//! Our reader's decoding of the real captures agrees with `sysdig -r FILE -j`, event for
//! event: the same event numbers, types, directions, CPUs, threads and timestamps, and the
//! same rendered parameter values (up to the annotations sysdig adds from its state).

mod common;

use std::collections::BTreeSet;

use blackbox_scap::oracle::{self, check_agreement};
use blackbox_scap::ScapReader;

#[test]
fn corpus_decoding_agrees_with_sysdig_json() {
    oracle::require_sysdig();
    let mut total_events = 0;
    let mut total_params = 0;
    for path in common::samples() {
        let a = check_agreement(&path).unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "{}: {} events printed by sysdig and compared, {} params ({} zero-length, not \
             comparable)",
            path.display(),
            a.events_compared,
            a.params_compared,
            a.params_unset
        );
        total_events += a.events_compared;
        total_params += a.params_compared;
    }
    assert!(total_events > 8900, "compared only {total_events} events");
    assert!(total_params > 20000, "compared only {total_params} params");
}

/// The container metadata sysdig shows for the modern sample comes from the leading container
/// events our reader exposes.
#[test]
fn corpus_container_events_match_sysdig() {
    let path = common::sample("falco_psp_run_as_user_0_container.scap");
    let r = ScapReader::open(&path).expect("open");
    let json: Vec<serde_json::Value> = r
        .container_json()
        .iter()
        .map(|s| serde_json::from_str(s).expect("container JSON"))
        .collect();
    assert_eq!(json.len(), 2);
    let out = oracle::sysdig(
        &path,
        &[
            "-p",
            "%container.id %container.name %container.image",
            "container.id!=host",
        ],
    );
    let line = out.lines().next().expect("a container event");
    // The capture has an "incomplete" entry first, then the full one; the last one wins.
    let c = json
        .iter()
        .rev()
        .map(|j| &j["container"])
        .find(|c| line.starts_with(c["id"].as_str().unwrap_or("-")))
        .unwrap_or_else(|| panic!("no container JSON for sysdig line {line:?}"));
    let expected = format!(
        "{} {} {}",
        c["id"].as_str().unwrap_or_default(),
        c["name"].as_str().unwrap_or_default(),
        c["image"].as_str().unwrap_or_default()
    );
    assert_eq!(line, expected);
    // The same id follows from the process list's cgroups.
    let ids: BTreeSet<String> = r
        .metadata()
        .processes
        .iter()
        .filter_map(|p| blackbox_scap::container::container_id_from_cgroups(&p.cgroups))
        .collect();
    assert!(
        ids.contains(c["id"].as_str().unwrap_or_default()),
        "{ids:?}"
    );
}
