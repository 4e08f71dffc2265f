//! Our reader's decoding of the real captures agrees with `sysdig -r FILE -j`, event for
//! event: the same event numbers, types, directions, CPUs, threads and timestamps, and the
//! same rendered parameter values (up to the annotations sysdig adds from its state).

mod common;

use std::collections::{BTreeSet, HashMap};

use blackbox_scap::render::render_value;
use blackbox_scap::{EventRecord, ScapReader};

const PROCINFO: u16 = 234;
const GENERIC_E: u16 = 0;
const GENERIC_X: u16 = 1;

struct Read {
    events: Vec<EventRecord>,
    leading_containers: usize,
}

fn read_all(path: &std::path::Path) -> Read {
    let r = ScapReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let leading_containers = r.container_json().len();
    let events = r
        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect();
    Read {
        events,
        leading_containers,
    }
}

#[test]
fn corpus_decoding_agrees_with_sysdig_json() {
    common::require_sysdig();
    let mut total_events = 0;
    let mut total_params = 0;
    for path in common::samples() {
        let name = path.display().to_string();
        let ours = read_all(&path);
        let theirs = common::sysdig_json(&path, &[]);
        let by_num: HashMap<u64, &EventRecord> = ours.events.iter().map(|r| (r.num, r)).collect();

        // Event numbering and the set of events: sysdig prints everything except procinfo
        // and the leading container events it consumes while opening the file.
        let printed: BTreeSet<u64> = theirs
            .iter()
            .map(|j| j["evt.num"].as_u64().expect("evt.num"))
            .collect();
        let expected: BTreeSet<u64> = ours
            .events
            .iter()
            .skip(ours.leading_containers)
            .filter(|r| r.event.event_type != PROCINFO)
            .map(|r| r.num)
            .collect();
        assert_eq!(printed, expected, "{name}: sets of printed events differ");

        let mut params_compared = 0;
        for j in &theirs {
            let num = j["evt.num"].as_u64().expect("evt.num");
            let r = by_num[&num];
            let ev = &r.event;
            let info = ev.info().expect("known type");
            let ctx = format!("{name} evt.num {num} ({} {})", info.name, ev.event_type);
            let generic = matches!(ev.event_type, GENERIC_E | GENERIC_X);
            if generic {
                // GENERIC events are printed under the syscall's own name (PPM_SC id).
                let id = ev.params.first().and_then(|v| v.as_u64()).unwrap_or(0);
                let name = u16::try_from(id).ok().and_then(blackbox_scap::syscall_name);
                assert_eq!(
                    j["evt.type"].as_str(),
                    name,
                    "{ctx}: generic evt.type, id {id}"
                );
            } else {
                assert_eq!(j["evt.type"], info.name, "{ctx}: evt.type");
            }
            assert_eq!(j["evt.dir"], info.dir_char().to_string(), "{ctx}: evt.dir");
            assert_eq!(
                j["evt.cpu"].as_u64(),
                Some(u64::from(ev.cpu)),
                "{ctx}: evt.cpu"
            );
            assert_eq!(
                j["evt.outputtime"].as_u64(),
                Some(ev.ts),
                "{ctx}: timestamp"
            );
            assert_eq!(
                j["thread.tid"].as_i64(),
                Some(ev.tid as i64),
                "{ctx}: thread.tid"
            );
            let sinfo = j["evt.info"].as_str().unwrap_or_default();
            if generic {
                assert_eq!(sinfo, "", "{ctx}: sysdig prints no args for generic events");
                continue;
            }
            if ev.params.len() < info.params.len() {
                // Old captures hold shorter versions of some events; sysdig must agree that
                // the next parameter is absent.
                let more: Vec<&str> = info.params[..=ev.params.len()]
                    .iter()
                    .map(|p| p.name)
                    .collect();
                assert!(
                    common::split_info(sinfo, &more).is_none(),
                    "{ctx}: sysdig shows more than our {} params: {sinfo:?}",
                    ev.params.len()
                );
            }
            let names: Vec<&str> = info.params[..ev.params.len()]
                .iter()
                .map(|p| p.name)
                .collect();
            let values = common::split_info(sinfo, &names)
                .unwrap_or_else(|| panic!("{ctx}: evt.info {sinfo:?} lacks {names:?}"));
            for ((p, v), s) in info.params.iter().zip(&ev.params).zip(&values) {
                let mine = render_value(p, v);
                assert!(
                    common::same_value(p.ty, s, &mine),
                    "{ctx}: param {} ({:?}): sysdig {s:?}, ours {mine:?}",
                    p.name,
                    p.ty
                );
                params_compared += 1;
            }
        }
        eprintln!(
            "{name}: {} events read, {} printed by sysdig and compared, {params_compared} params",
            ours.events.len(),
            theirs.len()
        );
        total_events += theirs.len();
        total_params += params_compared;
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
    let out = common::sysdig(
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
