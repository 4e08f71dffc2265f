mod common;

use blackbox_rules::{Engine, EngineConfig, LoadResult};
use common::rules_path;

fn load(files: &[&str]) -> (Engine, LoadResult) {
    let mut e = Engine::new(EngineConfig::default());
    let paths: Vec<String> = files.iter().map(|f| rules_path(f)).collect();
    let r = e.load_files(&paths).expect("read rules files");
    for m in &r.messages {
        eprintln!("{m}");
    }
    (e, r)
}

#[test]
fn stable_loads_without_errors() {
    let (e, r) = load(&["falco_rules.yaml"]);
    assert!(r.is_ok(), "errors: {:?}", r.errors().collect::<Vec<_>>());
    assert_eq!(e.ruleset().rules().len(), 25);
    assert_eq!(
        r.warnings().count(),
        0,
        "stable has no unused items and no unrestricted rules"
    );
}

#[test]
fn all_three_load_together() {
    let (e, r) = load(&[
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]);
    assert!(r.is_ok(), "errors: {:?}", r.errors().collect::<Vec<_>>());
    assert_eq!(e.ruleset().rules().len(), 93);
    assert_eq!(e.ruleset().rules().iter().filter(|r| r.enabled).count(), 81);
}

#[test]
fn incubating_and_sandbox_alone() {
    for f in ["falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        let (e, r) = load(&[f]);
        assert!(r.is_ok(), "{f}: {:?}", r.errors().collect::<Vec<_>>());
        assert!(!e.ruleset().rules().is_empty());
    }
}

#[test]
fn stable_event_types_match_the_measured_table() {
    let (e, _) = load(&["falco_rules.yaml"]);
    let table: &[(&str, &str)] = &[
        (
            "Directory traversal monitored file read",
            "open, openat, openat2",
        ),
        (
            "Read sensitive file trusted after startup",
            "open, openat, openat2",
        ),
        ("Read sensitive file untrusted", "open, openat, openat2"),
        ("Run shell untrusted", "execve, execveat"),
        ("System user interactive", "execve, execveat"),
        ("Terminal shell in container", "execve, execveat"),
        ("Contact K8S API Server From Container", "connect"),
        (
            "Netcat Remote Code Execution in Container",
            "execve, execveat",
        ),
        ("Search Private Keys or Passwords", "execve, execveat"),
        ("Clear Log Activities", "open, openat, openat2"),
        ("Remove Bulk Data from Disk", "execve, execveat"),
        ("Create Symlink Over Sensitive Files", "symlink, symlinkat"),
        ("Create Hardlink Over Sensitive Files", "link, linkat"),
        ("Packet socket created in container", "socket"),
        (
            "Redirect STDOUT/STDIN to Network Connection in Container",
            "dup, dup2, dup3",
        ),
        (
            "Linux Kernel Module Injection Detected",
            "finit_module, init_module",
        ),
        (
            "Debugfs Launched in Privileged Container",
            "execve, execveat",
        ),
        (
            "Detect release_agent File Container Escapes",
            "open, openat, openat2",
        ),
        ("PTRACE attached to process", "ptrace"),
        ("PTRACE anti-debug attempt", "ptrace"),
        ("Find AWS Credentials", "execve, execveat"),
        ("Execution from /dev/shm", "execve, execveat"),
        (
            "Drop and execute new binary in container",
            "execve, execveat",
        ),
        (
            "Disallowed SSH Connection Non Standard Port",
            "connect, sendmsg, sendto",
        ),
        ("Fileless execution via memfd_create", "execve, execveat"),
    ];
    for (name, want) in table {
        let r = e
            .ruleset()
            .rule(name)
            .unwrap_or_else(|| panic!("rule {name}"));
        assert_eq!(r.event_type_names().join(", "), *want, "{name}");
    }
    let mut union: Vec<&str> = e
        .ruleset()
        .rules()
        .iter()
        .flat_map(|r| r.event_type_names())
        .collect();
    union.sort_unstable();
    union.dedup();
    assert_eq!(union.len(), 19);
}
