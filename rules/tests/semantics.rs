mod common;

use blackbox_rules::{Engine, EngineConfig, RuleMatching, Severity, Value};
use common::Synthetic;

fn engine_with(yaml: &str) -> Engine {
    let mut e = Engine::new(EngineConfig {
        rule_matching: RuleMatching::All,
        append_output: None,
        ..EngineConfig::default()
    });
    let r = e.load(&[("test.yaml", yaml)]);
    assert!(r.is_ok(), "{:?}", r.errors().collect::<Vec<_>>());
    e
}

fn rule(cond: &str) -> String {
    format!("- list: shells\n  items: [bash, sh, \"sh -c\"]\n- macro: is_open\n  condition: evt.type in (open, openat)\n- rule: r\n  desc: d\n  condition: {cond}\n  output: \"x %proc.name\"\n  priority: WARNING\n  warn_evttypes: false\n")
}

fn truth(cond: &str, evt: &Synthetic) -> bool {
    let e = engine_with(&rule(&format!("{cond:?}")));
    let mut ev = evt.clone();
    e.ruleset().evaluate(&mut ev, |_, _| {}) > 0
}

#[test]
fn condition_table() {
    let ev = Synthetic::new("openat")
        .s("proc.name", "bash")
        .s("fd.name", "/etc/shadow")
        .i("fd.num", 3)
        .u("user.uid", 0)
        .b("evt.is_open_read", true)
        .s("proc.aname[2]", "runc:[1:CHILD]")
        .set(
            "proc.aname",
            Value::List(vec![
                Value::Str("sshd".into()),
                Value::Str("systemd".into()),
            ]),
        )
        .s("evt.arg.flags", "O_RDONLY|O_CLOEXEC")
        .s("proc.cmdline", "bash -c ls")
        .set("fd.sip", Value::Ip("10.1.2.3".parse().expect("ip")))
        .set("fd.snet", Value::Ip("10.1.2.3".parse().expect("ip")));
    let cases: &[(&str, bool)] = &[
        ("proc.name = bash", true),
        ("proc.name=bash", true),
        ("proc.name != bash", false),
        ("proc.name in (shells)", true),
        ("proc.name in (zsh, shells)", true),
        ("not proc.name in (shells)", false),
        ("is_open and proc.name = bash", true),
        ("not is_open", false),
        ("proc.pname = x", false),
        ("proc.pname != x", false),
        ("not proc.pname = x", true),
        ("proc.pname exists", false),
        ("proc.name exists", true),
        ("fd.name startswith /etc", true),
        ("fd.name endswith shadow", true),
        ("fd.name contains etc/sh", true),
        ("fd.name icontains ETC/SH", true),
        ("fd.name glob '/etc/*'", true),
        ("fd.name glob '/usr/*'", false),
        ("fd.name iglob '/ETC/*'", true),
        ("fd.name pmatch (/etc)", true),
        ("fd.name pmatch (/et)", false),
        ("fd.name regex '/etc/s.*'", true),
        ("fd.name regex 'etc'", false),
        ("fd.num >= 0", true),
        ("fd.num < 3", false),
        ("fd.num = 0x3", true),
        ("fd.num in (1, 2, 3)", true),
        ("user.uid = 0", true),
        ("evt.is_open_read = true", true),
        ("proc.aname[2] = runc:[1:CHILD]", true),
        ("proc.aname = systemd", true),
        ("proc.aname = bash", false),
        ("proc.aname in (sshd)", true),
        ("evt.arg.flags contains O_RDONLY", true),
        ("proc.cmdline = \"bash -c ls\"", true),
        ("proc.cmdline = 'bash -c ls'", true),
        ("tolower(proc.name) = bash", true),
        ("toupper(proc.name) = BASH", true),
        ("len(proc.name) = 4", true),
        ("basename(fd.name) = shadow", true),
        ("proc.name = val(proc.name)", true),
        ("proc.name = val(proc.pname)", false),
        ("fd.sip = 10.1.2.3", true),
        ("fd.snet in (\"10.0.0.0/8\")", true),
        ("fd.snet in (\"192.168.0.0/16\")", false),
        ("proc.name startswith oneof (ba, zz)", true),
        ("proc.name in ()", false),
        ("a_or_b", false),
        (
            "proc.name = bash or proc.name = zsh and proc.name = x",
            true,
        ),
        (
            "(proc.name = bash or proc.name = zsh) and proc.name = x",
            false,
        ),
    ];
    for (cond, want) in cases {
        let yaml = if *cond == "a_or_b" {
            "- macro: a_or_b\n  condition: proc.name = zsh\n- rule: r\n  desc: d\n  condition: a_or_b\n  output: x\n  priority: INFO\n  warn_evttypes: false\n".to_string()
        } else {
            rule(&format!("{cond:?}"))
        };
        let e = engine_with(&yaml);
        let mut ev2 = ev.clone();
        assert_eq!(
            e.ruleset().evaluate(&mut ev2, |_, _| {}) > 0,
            *want,
            "{cond}"
        );
    }
    // A rule indexed on openat does not run for other event types.
    let mut other = ev.clone();
    other.evt_type = "execve".into();
    assert!(!truth("is_open and proc.name = bash", &other));
}

#[test]
fn exceptions_append_override() {
    let base = "- rule: r\n  desc: d\n  condition: evt.type = execve and proc.name in (sh, bash)\n  output: \"shell %proc.name\"\n  priority: WARNING\n  tags: [a]\n  exceptions:\n    - name: by_parent\n      fields: proc.pname\n      values: [sshd]\n    - name: by_tuple\n      fields: [proc.pname, proc.cmdline]\n      comps: [=, startswith]\n      values:\n        - [cron, \"bash -c backup\"]\n";
    let extra = "- rule: r\n  condition: or proc.name = zsh\n  exceptions:\n    - name: by_parent\n      values: [tmux]\n  tags: [b]\n  override:\n    condition: append\n    exceptions: append\n    tags: append\n";
    let mut e = Engine::new(EngineConfig {
        append_output: None,
        ..EngineConfig::default()
    });
    let r = e.load(&[("a.yaml", base), ("b.yaml", extra)]);
    assert!(r.is_ok(), "{:?}", r.errors().collect::<Vec<_>>());
    let rl = e.ruleset().rule("r").expect("rule");
    assert_eq!(rl.tags.iter().cloned().collect::<Vec<_>>(), vec!["a", "b"]);
    assert!(
        rl.condition
            .contains("and not (proc.pname in (sshd, tmux))"),
        "{}",
        rl.condition
    );
    assert!(
        rl.condition
            .contains("(( proc.pname = cron and  proc.cmdline startswith \"bash -c backup\"))"),
        "{}",
        rl.condition
    );
    let check = |pname: &str, cmd: &str, name: &str| {
        let mut ev = Synthetic::new("execve")
            .s("proc.name", name)
            .s("proc.pname", pname)
            .s("proc.cmdline", cmd);
        e.ruleset().evaluate(&mut ev, |_, _| {}) > 0
    };
    assert!(check("init", "bash", "bash"));
    assert!(!check("sshd", "bash", "bash"));
    assert!(!check("tmux", "bash", "bash"));
    assert!(!check("cron", "bash -c backup now", "bash"));
    assert!(check("cron", "bash -c other", "bash"));
    // appended text: `A and B or zsh` = `(A and B) or zsh`... inside the exception wrapper
    assert!(check("init", "zsh", "zsh"));
}

#[test]
fn alert_json_and_output() {
    let e = engine_with("- rule: r\n  desc: d\n  condition: evt.type = open\n  output: \"open %fd.name by %proc.name pid=%proc.pid ppid=%proc.ppid\"\n  priority: INFO\n  tags: [z, a]\n");
    let mut ev = Synthetic::new("open")
        .s("fd.name", "/x")
        .i("proc.pid", 42)
        .u("evt.rawtime", 1_470_327_477_881_781_397);
    let alerts = e.ruleset().evaluate_alerts(&mut ev);
    assert_eq!(alerts.len(), 1);
    let j = alerts[0].to_json();
    assert_eq!(j["time"], "2016-08-04T16:17:57.881781397Z");
    assert_eq!(j["priority"], "Informational");
    assert_eq!(j["rule"], "r");
    assert_eq!(j["source"], "syscall");
    assert_eq!(j["tags"], serde_json::json!(["a", "z"]));
    assert_eq!(
        j["output"],
        "16:17:57.881781397: Informational open /x by <NA> pid=42 ppid=<NA>"
    );
    assert_eq!(j["output_fields"]["proc.pid"], 42);
    assert_eq!(j["output_fields"]["proc.name"], serde_json::Value::Null);
    assert_eq!(j["output_fields"]["evt.time"], 1_470_327_477_881_781_397u64);
    assert_eq!(e.ruleset().match_count(0), 1);
}

#[test]
fn bad_files_report_every_problem_with_positions() {
    let bad = "- macro: m1\n  condition: proc.name = a and\n- rule: r1\n  desc: d\n  condition: proc.nosuch = 1\n  output: x\n  priority: INFO\n- rule: r2\n  desc: d\n  condition: fd.num contains 1\n  output: x\n  priority: INFO\n- rule: r3\n  desc: d\n  condition: undefined_macro\n  output: x\n  priority: INFO\n- rule: r4\n  desc: d\n  condition: evt.type = open\n  output: \"%proc.bogus\"\n  priority: INFO\n- rule: r5\n  desc: d\n  condition: fd.num = abc\n  output: x\n  priority: INFO\n- rule: r6\n  desc: d\n  condition: proc.nosuch = 1\n  output: x\n  priority: INFO\n  skip-if-unknown-filter: true\n- rule: r7\n  output: x\n- weird: 1\n- rule: r8\n  desc: d\n  condition: evt.type = open\n  output: x\n  priority: INFO\n  bogus_key: 1\n";
    let mut e = Engine::new(EngineConfig::default());
    let r = e.load(&[("bad.yaml", bad)]);
    let errs: Vec<_> = r.errors().collect();
    for m in &r.messages {
        eprintln!("{m}");
    }
    let find = |name: &str| {
        errs.iter()
            .find(|m| m.item_name == name)
            .unwrap_or_else(|| panic!("no error for {name}"))
    };
    assert_eq!(find("m1").code, "LOAD_ERR_COMPILE_CONDITION");
    assert_eq!(find("m1").line, 2);
    assert!(find("r1").message.contains("proc.nosuch"));
    assert_eq!((find("r1").line, find("r1").col), (5, 14));
    assert!(find("r2")
        .message
        .contains("'contains' operator not supported for numeric"));
    assert!(find("r3")
        .message
        .contains("Undefined macro 'undefined_macro'"));
    assert_eq!(find("r4").code, "LOAD_ERR_COMPILE_OUTPUT");
    assert!(find("r5").message.contains("abc"));
    assert!(find("r7").message.contains("condition"));
    assert!(errs.iter().all(|m| m.item_name != "r6"));
    assert!(r
        .warnings()
        .any(|m| m.code == "LOAD_UNKNOWN_FILTER" && m.item_name == "r6"));
    assert!(r.warnings().any(|m| m.code == "LOAD_UNKNOWN_ITEM"));
    assert!(r
        .warnings()
        .any(|m| m.code == "LOAD_UNKNOWN_KEY" && m.item_name == "r8"));
    assert!(r
        .warnings()
        .any(|m| m.code == "LOAD_UNUSED_MACRO" && m.item_name == "m1"));
    assert!(errs
        .iter()
        .all(|m| m.file == "bad.yaml" && m.severity == Severity::Error));
    assert_eq!(e.ruleset().rules().len(), 1, "only r8 compiles");

    let r = e.load(&[("syntax.yaml", "- rule: x\n  desc: [unclosed\n")]);
    let m = r.errors().next().expect("yaml error");
    assert_eq!(m.code, "LOAD_ERR_YAML_PARSE");
    assert!(m.line >= 2);
}

#[test]
fn macro_cycles_and_visibility() {
    let y = "- macro: a\n  condition: proc.name = x\n- macro: b\n  condition: a\n- macro: a\n  condition: b\n- rule: r\n  desc: d\n  condition: evt.type=open and a\n  output: x\n  priority: INFO\n";
    let mut e = Engine::new(EngineConfig::default());
    let r = e.load(&[("c.yaml", y)]);
    assert!(
        r.errors()
            .any(|m| m.message.contains("reference loop") || m.message.contains("Undefined macro")),
        "{:?}",
        r.messages
    );
}

#[test]
fn garbage_conditions_never_panic() {
    let alphabet: &[&str] = &[
        "proc.name",
        "(",
        ")",
        " and ",
        " or ",
        "not ",
        "=",
        " in ",
        "'",
        "\"",
        "x",
        ",",
        "[",
        "]",
        "evt.type",
        "val(",
        "tolower(",
        " exists",
        "\\",
        "0x",
        "-1",
        " glob ",
        "\n",
    ];
    let mut seed: u64 = 0x1234_5678;
    for _ in 0..3000 {
        let mut s = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % 12) as usize + 1;
        for k in 0..n {
            let idx = ((seed >> (k * 5)) as usize + k * 7) % alphabet.len();
            s.push_str(alphabet[idx]);
        }
        if let Ok(ast) = blackbox_rules::parser::parse(&s) {
            let _ = blackbox_rules::compile::compile(&ast);
            let _ = blackbox_rules::evttype::event_types(&ast);
        }
    }
}
