//! The Kubernetes manifests must agree with the installer: handler name, node label, the host
//! paths it writes, the commands it is run with.

use std::path::Path;

use blackbox_install::{defaults, HANDLER_NAME, NODE_LABEL_KEY, NODE_LABEL_VALUE};
use serde::Deserialize;
use serde_yaml::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const RUNTIMECLASS: &str = include_str!("../kubernetes/runtimeclass.yaml");
const DAEMONSET: &str = include_str!("../kubernetes/daemonset.yaml");

fn documents(yaml: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(Value::deserialize)
        .collect()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Result<&'a Value, String> {
    let found: Vec<_> = docs.iter().filter(|d| d["kind"] == kind).collect();
    match found.as_slice() {
        [one] => Ok(one),
        _ => Err(format!(
            "expected exactly one {kind}, found {}",
            found.len()
        )),
    }
}

fn text<'a>(value: &'a Value, what: &str) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{what} is not a string: {value:?}"))
}

fn seq<'a>(value: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    value
        .as_sequence()
        .ok_or_else(|| format!("{what} is not a list: {value:?}"))
}

#[test]
fn runtimeclass_matches_the_installer() -> TestResult {
    let docs = documents(RUNTIMECLASS)?;
    let rc = of_kind(&docs, "RuntimeClass")?;
    assert_eq!(rc["apiVersion"], "node.k8s.io/v1");
    assert_eq!(rc["metadata"]["name"], "blackbox");
    assert_eq!(text(&rc["handler"], "handler")?, HANDLER_NAME);
    let selector = rc["scheduling"]["nodeSelector"]
        .as_mapping()
        .ok_or("no scheduling.nodeSelector")?;
    assert_eq!(selector.len(), 1);
    assert_eq!(
        text(
            &rc["scheduling"]["nodeSelector"][NODE_LABEL_KEY],
            "node label"
        )?,
        NODE_LABEL_VALUE
    );
    Ok(())
}

struct Installer<'a> {
    pod: &'a Value,
    container: &'a Value,
}

impl<'a> Installer<'a> {
    fn from(docs: &'a [Value]) -> Result<Self, String> {
        let ds = of_kind(docs, "DaemonSet")?;
        let pod = &ds["spec"]["template"]["spec"];
        let containers = seq(&pod["containers"], "containers")?;
        let [container] = containers.as_slice() else {
            return Err("expected one container".to_owned());
        };
        Ok(Self { pod, container })
    }

    fn install_script(&self) -> Result<String, String> {
        let command = seq(&self.container["command"], "command")?;
        let args = seq(&self.container["args"], "args")?;
        let parts: Result<Vec<&str>, String> = command
            .iter()
            .chain(args.iter())
            .map(|v| text(v, "command part"))
            .collect();
        Ok(parts?.join(" "))
    }

    fn pre_stop_script(&self) -> Result<String, String> {
        let parts: Result<Vec<&str>, String> = seq(
            &self.container["lifecycle"]["preStop"]["exec"]["command"],
            "preStop command",
        )?
        .iter()
        .map(|v| text(v, "preStop part"))
        .collect();
        Ok(parts?.join(" "))
    }

    /// The mount path of the hostPath volume for `host_path`.
    fn mount_of_host_path(&self, host_path: &str) -> Result<String, String> {
        let volume = seq(&self.pod["volumes"], "volumes")?
            .iter()
            .find(|v| v["hostPath"]["path"] == host_path)
            .ok_or_else(|| format!("no hostPath volume for {host_path}"))?;
        let mount = seq(&self.container["volumeMounts"], "volumeMounts")?
            .iter()
            .find(|m| m["name"] == volume["name"])
            .ok_or_else(|| format!("volume for {host_path} is not mounted"))?;
        assert_ne!(mount["readOnly"], true, "{host_path} must be writable");
        Ok(text(&mount["mountPath"], "mountPath")?.to_owned())
    }
}

/// Joins shell continuation lines so a command split with `\` reads as one line.
fn logical_lines(script: &str) -> Vec<String> {
    script
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn daemonset_runs_the_installer_privileged_in_the_host_pid_namespace() -> TestResult {
    let docs = documents(DAEMONSET)?;
    let installer = Installer::from(&docs)?;
    let ds = of_kind(&docs, "DaemonSet")?;
    let ns = of_kind(&docs, "Namespace")?;
    assert_eq!(ns["metadata"]["name"], "blackbox-system");
    assert_eq!(ds["metadata"]["namespace"], "blackbox-system");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(installer.pod["hostPID"], true);
    assert_eq!(installer.container["securityContext"]["privileged"], true);
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"],
        ds["spec"]["template"]["metadata"]["labels"]
    );
    // preStop restarts containerd and waits for it: the grace period must cover that.
    let grace = installer.pod["terminationGracePeriodSeconds"]
        .as_u64()
        .ok_or("no terminationGracePeriodSeconds")?;
    assert!(grace > defaults::RESTART_TIMEOUT_SECS);
    Ok(())
}

#[test]
fn daemonset_mounts_every_host_path_the_installer_uses_at_the_same_path() -> TestResult {
    let docs = documents(DAEMONSET)?;
    let installer = Installer::from(&docs)?;
    let parent = |p: &str| -> Result<String, String> {
        Path::new(p)
            .parent()
            .and_then(Path::to_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{p} has no parent"))
    };
    let host_paths = [
        parent(defaults::CONTAINERD_CONFIG)?,
        defaults::BLACKBOX_DIR.to_owned(),
        defaults::BIN_DIR.to_owned(),
        parent(defaults::CONTAINERD_ADDRESS)?,
        defaults::ARCHIVE_DIR.to_owned(),
        defaults::LOG_DIR.to_owned(),
    ];
    for host_path in &host_paths {
        // Same path inside: the installer's defaults apply, and the paths it writes into
        // containerd's config (runtime_path, ConfigPath) are valid on the host.
        assert_eq!(&installer.mount_of_host_path(host_path)?, host_path);
    }
    // The image's binaries must not be hidden under a host mount.
    let script = installer.install_script()?;
    assert!(
        script.contains("--source-dir /opt/blackbox/bin"),
        "{script}"
    );
    for mount in seq(&installer.container["volumeMounts"], "volumeMounts")? {
        let path = text(&mount["mountPath"], "mountPath")?;
        assert!(
            !"/opt/blackbox/bin".starts_with(path),
            "{path} shadows the image binaries"
        );
    }
    Ok(())
}

#[test]
fn daemonset_installs_restarts_and_labels_its_node() -> TestResult {
    let docs = documents(DAEMONSET)?;
    let installer = Installer::from(&docs)?;
    let script = installer.install_script()?;
    let lines = logical_lines(&script);
    let install = lines
        .iter()
        .position(|l| l.contains("blackbox install --restart"))
        .ok_or_else(|| format!("no `blackbox install --restart` in:\n{script}"))?;
    let label_command = format!(
        "kubectl label node \"$NODE_NAME\" {NODE_LABEL_KEY}={NODE_LABEL_VALUE} --overwrite"
    );
    let label = lines
        .iter()
        .position(|l| l.contains(&label_command))
        .ok_or_else(|| format!("no `{label_command}` in:\n{script}"))?;
    assert!(
        install < label,
        "the node must be labelled only after the install"
    );
    assert!(
        script.contains("set -eu"),
        "a failed install must not label the node"
    );
    assert!(lines[install].contains("--restart-command \"$RESTART_CONTAINERD\""));

    let env = seq(&installer.container["env"], "env")?;
    let node_name = env
        .iter()
        .find(|e| e["name"] == "NODE_NAME")
        .ok_or("no NODE_NAME")?;
    assert_eq!(
        node_name["valueFrom"]["fieldRef"]["fieldPath"],
        "spec.nodeName"
    );
    let restart = env
        .iter()
        .find(|e| e["name"] == "RESTART_CONTAINERD")
        .ok_or("no RESTART_CONTAINERD")?;
    let restart = text(&restart["value"], "RESTART_CONTAINERD")?;
    assert!(restart.starts_with("nsenter --target 1 "), "{restart}");
    assert!(
        restart.ends_with("systemctl restart containerd"),
        "{restart}"
    );
    Ok(())
}

#[test]
fn daemonset_pre_stop_unlabels_then_uninstalls() -> TestResult {
    let docs = documents(DAEMONSET)?;
    let installer = Installer::from(&docs)?;
    let script = installer.pre_stop_script()?;
    let lines = logical_lines(&script);
    let unlabel = lines
        .iter()
        .position(|l| {
            l.contains(&format!(
                "kubectl label node \"$NODE_NAME\" {NODE_LABEL_KEY}-"
            ))
        })
        .ok_or_else(|| format!("preStop does not remove the label:\n{script}"))?;
    let uninstall = lines
        .iter()
        .position(|l| l.contains("blackbox uninstall --restart"))
        .ok_or_else(|| format!("preStop does not uninstall:\n{script}"))?;
    assert!(
        unlabel < uninstall,
        "stop scheduling before removing the handler"
    );
    Ok(())
}

#[test]
fn rbac_lets_the_installer_label_nodes() -> TestResult {
    let docs = documents(DAEMONSET)?;
    let installer = Installer::from(&docs)?;
    let sa = of_kind(&docs, "ServiceAccount")?;
    assert_eq!(installer.pod["serviceAccountName"], sa["metadata"]["name"]);
    let role = of_kind(&docs, "ClusterRole")?;
    let allows = |verb: &str| -> Result<bool, String> {
        Ok(seq(&role["rules"], "rules")?.iter().any(|rule| {
            let has = |field: &str, want: &str| {
                rule[field]
                    .as_sequence()
                    .is_some_and(|s| s.iter().any(|v| v == want))
            };
            has("apiGroups", "") && has("resources", "nodes") && has("verbs", verb)
        }))
    };
    // `kubectl label` reads the node, then patches it.
    assert!(allows("patch")?, "ClusterRole must allow patching nodes");
    assert!(allows("get")?, "ClusterRole must allow getting nodes");
    let binding = of_kind(&docs, "ClusterRoleBinding")?;
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    let subjects = seq(&binding["subjects"], "subjects")?;
    assert!(subjects.iter().any(|s| s["kind"] == "ServiceAccount"
        && s["name"] == sa["metadata"]["name"]
        && s["namespace"] == sa["metadata"]["namespace"]));
    Ok(())
}

#[test]
fn daemonset_runs_recover_periodically_after_the_install() -> TestResult {
    let docs = documents(DAEMONSET)?;
    let installer = Installer::from(&docs)?;
    let script = installer.install_script()?;
    let lines = logical_lines(&script);
    let install = lines
        .iter()
        .position(|l| l.contains("blackbox install --restart"))
        .ok_or("no install")?;
    let looping = lines
        .iter()
        .position(|l| l.trim() == "while :; do")
        .ok_or_else(|| format!("no loop in:\n{script}"))?;
    let recover = lines
        .iter()
        .position(|l| l.contains("/opt/blackbox/bin/blackbox recover"))
        .ok_or_else(|| format!("no `blackbox recover` in:\n{script}"))?;
    assert!(install < looping && looping < recover, "{script}");
    // A failed recovery must not end the loop (set -e would otherwise stop the pod).
    assert!(
        lines[recover].contains("||"),
        "recover failure must be tolerated: {}",
        lines[recover]
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("sleep \"$BLACKBOX_RECOVER_INTERVAL\"")));
    let env = seq(&installer.container["env"], "env")?;
    let interval = env
        .iter()
        .find(|e| e["name"] == "BLACKBOX_RECOVER_INTERVAL")
        .ok_or("no BLACKBOX_RECOVER_INTERVAL")?;
    let secs: u64 = text(&interval["value"], "interval")?.parse()?;
    assert!((60..=3600).contains(&secs), "{secs}");
    // recover writes archives and reads the node key and config.
    assert_eq!(
        installer.mount_of_host_path(defaults::ARCHIVE_DIR)?,
        defaults::ARCHIVE_DIR
    );
    assert_eq!(
        installer.mount_of_host_path(defaults::BLACKBOX_DIR)?,
        defaults::BLACKBOX_DIR
    );
    Ok(())
}
