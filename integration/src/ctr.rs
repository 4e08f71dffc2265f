//! Driving the private containerd at the task level with `ctr`, one namespace per test.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, Output};
use crate::containerd::Containerd;
use crate::image::BUSYBOX_REF;
use crate::runtime::Runtime;

/// Default deadline of one ctr invocation.
pub const CTR_TIMEOUT: Duration = Duration::from_secs(60);

/// `ctr --address <private socket> -n <namespace>`.
#[derive(Clone, Copy)]
pub struct Ctr<'a> {
    pub containerd: &'a Containerd,
    namespace: &'a str,
}

impl<'a> Ctr<'a> {
    /// ctr in the `default` namespace, for namespace-wide operations.
    #[must_use]
    pub fn admin(containerd: &'a Containerd) -> Self {
        Ctr {
            containerd,
            namespace: "default",
        }
    }

    #[must_use]
    pub fn in_namespace<'b>(&self, namespace: &'b str) -> Ctr<'b>
    where
        'a: 'b,
    {
        Ctr {
            containerd: self.containerd,
            namespace,
        }
    }

    #[must_use]
    pub fn namespace(&self) -> &str {
        self.namespace
    }

    /// A `ctr` command with the address and namespace set.
    #[must_use]
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.containerd.tools.ctr);
        c.arg("--address")
            .arg(&self.containerd.layout.address)
            .arg("-n")
            .arg(self.namespace);
        c
    }

    /// Runs `ctr <args>` and returns whatever it did.
    pub fn raw(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        let mut c = self.command();
        c.args(args);
        cmd::run(c, stdin, CTR_TIMEOUT)
    }

    /// Runs `ctr <args>` and fails unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> Result<Output> {
        self.raw(args, None)?.ok()
    }

    pub fn namespaces(&self) -> Result<Vec<String>> {
        Ok(lines(&self.ok(&["namespaces", "ls", "-q"])?.stdout))
    }

    pub fn import(&self, tarball: &std::path::Path) -> Result<()> {
        let mut c = self.command();
        c.args(["images", "import"]).arg(tarball);
        cmd::run(c, None, Duration::from_secs(120))?.ok()?;
        Ok(())
    }

    /// The flags that select `runtime` for `ctr run`, with runc's state kept in the private
    /// state directory (runc shim: `--runc-root`; blackbox: the runtime options file).
    #[must_use]
    pub fn runtime_flags(&self, runtime: Runtime) -> Vec<String> {
        let layout = &self.containerd.layout;
        let mut v = vec![
            "--runtime".to_string(),
            runtime.runtime_type().to_string(),
            "--fifo-dir".to_string(),
            layout.fifo_dir.display().to_string(),
        ];
        match runtime {
            Runtime::Runc => {
                v.push("--runc-root".into());
                v.push(layout.runc_root.display().to_string());
            }
            Runtime::Blackbox => {
                v.push("--runtime-config-path".into());
                v.push(layout.blackbox_runtime_config.display().to_string());
            }
        }
        v
    }

    /// `ctr run [--rm] <runtime flags> <flags> busybox <id> <argv>`, in the foreground.
    pub fn run(
        &self,
        runtime: Runtime,
        id: &str,
        flags: &[&str],
        argv: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Output> {
        let mut c = self.command();
        c.arg("run")
            .args(self.runtime_flags(runtime))
            .args(flags)
            .arg(BUSYBOX_REF)
            .arg(id)
            .args(argv);
        cmd::run(c, stdin, CTR_TIMEOUT)
    }

    /// Starts `argv` detached with its stdio on /dev/null (`--null-io`).
    pub fn run_detached(
        &self,
        runtime: Runtime,
        id: &str,
        flags: &[&str],
        argv: &[&str],
    ) -> Result<()> {
        let mut all = vec!["-d", "--null-io"];
        all.extend_from_slice(flags);
        self.run(runtime, id, &all, argv, None)?.ok()?;
        Ok(())
    }

    /// Starts `argv` detached; the shim writes stdout and stderr to the returned log file
    /// (`--log-uri file://...`).
    pub fn run_detached_logged(
        &self,
        runtime: Runtime,
        id: &str,
        flags: &[&str],
        argv: &[&str],
    ) -> Result<PathBuf> {
        let log = self
            .containerd
            .layout
            .dir
            .join(format!("{}-{id}.log", self.namespace));
        let uri = format!("file://{}", log.display());
        let mut all = vec!["-d", "--log-uri", &uri];
        all.extend_from_slice(flags);
        self.run(runtime, id, &all, argv, None)?.ok()?;
        Ok(log)
    }

    /// `ctr task exec --exec-id <exec_id> <id> <argv>`, in the foreground.
    pub fn exec(&self, id: &str, exec_id: &str, flags: &[&str], argv: &[&str]) -> Result<Output> {
        let fifo = self.containerd.layout.fifo_dir.display().to_string();
        let mut args = vec!["task", "exec", "--fifo-dir", &fifo, "--exec-id", exec_id];
        args.extend_from_slice(flags);
        args.push(id);
        args.extend_from_slice(argv);
        self.raw(&args, None)
    }

    /// The task's status column in `ctr task ls` (RUNNING, STOPPED, PAUSED, ...).
    pub fn task_status(&self, id: &str) -> Result<String> {
        self.task_row(id).map(|(_, status)| status)
    }

    /// The task's host pid.
    pub fn task_pid(&self, id: &str) -> Result<i32> {
        self.task_row(id).map(|(pid, _)| pid)
    }

    fn task_row(&self, id: &str) -> Result<(i32, String)> {
        let out = self.ok(&["task", "ls"])?;
        for line in out.stdout.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 3 && cols[0] == id {
                return Ok((cols[1].parse().context("task pid")?, cols[2].to_string()));
            }
        }
        bail!("task {id} not listed by `ctr task ls`:\n{}", out.stdout)
    }

    /// Waits until the task reports `status`.
    pub fn wait_status(&self, id: &str, status: &str, timeout: Duration) -> Result<()> {
        cmd::wait_for(&format!("task {id} to be {status}"), timeout, || {
            Ok((self.task_status(id)? == status).then_some(()))
        })
    }

    /// Pids listed by `ctr task ps`.
    pub fn task_pids(&self, id: &str) -> Result<Vec<i32>> {
        let out = self.ok(&["task", "ps", id])?;
        Ok(out
            .stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect())
    }

    /// Deletes a stopped task through the tasks API and returns the exit status the shim
    /// reported (ctr 1.6's `task delete` does not show it).
    pub fn delete_task(&self, id: &str) -> Result<u32> {
        crate::grpc::delete_task(&self.containerd.layout.address, self.namespace, id)
    }

    /// Kills every task and removes every container, image and finally the namespace.
    pub fn remove_everything(&self) {
        let tasks = self
            .ok(&["task", "ls", "-q"])
            .map(|o| lines(&o.stdout))
            .unwrap_or_default();
        for t in &tasks {
            let _ = self.raw(&["task", "kill", "-a", "-s", "SIGKILL", t], None);
        }
        for t in &tasks {
            let _ = self.wait_status(t, "STOPPED", Duration::from_secs(10));
            let _ = self.raw(&["task", "delete", "-f", t], None);
        }
        for c in self
            .ok(&["containers", "ls", "-q"])
            .map(|o| lines(&o.stdout))
            .unwrap_or_default()
        {
            let _ = self.raw(&["containers", "rm", &c], None);
        }
        for i in self
            .ok(&["images", "ls", "-q"])
            .map(|o| lines(&o.stdout))
            .unwrap_or_default()
        {
            let _ = self.raw(&["images", "rm", "--sync", &i], None);
        }
        if self.namespace != "default" {
            let _ = self.raw(&["namespaces", "rm", self.namespace], None);
        }
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
