//! blackbox's privileged end-to-end suite: one private containerd for the whole run, every
//! behavioural test once under `io.containerd.runc.v2` and once under `io.containerd.blackbox.v2`
//! (`<group>::<test>::runc` / `::blackbox`). Needs root; see docs/testing.md.

mod cri_exec;
mod cri_pod;
mod cri_shims;
mod ctr_drain;
mod ctr_exec;
mod ctr_exit;
mod ctr_io;
mod ctr_kill;
mod ctr_leaks;
mod ctr_oom;
mod ctr_pause;
mod ctr_restart;
mod ctr_stats;
mod rec_alerts;
mod rec_capture;
mod rec_exits;

use std::sync::Arc;

use blackbox_integration::{Env, Runtime};
use libtest_mimic::{Arguments, Failed, Trial};

/// A behavioural test, run under each runtime.
pub struct Case {
    pub group: &'static str,
    pub name: &'static str,
    /// Runs alone: it restarts containerd or counts containerd's processes, fds and files.
    pub exclusive: bool,
    /// The runtimes it runs under: both, except for a blackbox-only feature.
    pub runtimes: &'static [Runtime],
    pub run: fn(&Env, Runtime) -> anyhow::Result<()>,
}

impl Case {
    pub const fn new(
        group: &'static str,
        name: &'static str,
        run: fn(&Env, Runtime) -> anyhow::Result<()>,
    ) -> Self {
        Case {
            group,
            name,
            exclusive: false,
            runtimes: &Runtime::ALL,
            run,
        }
    }

    /// For what only blackbox has (its runtime options file): runc's shim
    /// has no counterpart to compare with.
    pub const fn blackbox_only(self) -> Self {
        Case {
            runtimes: &[Runtime::Blackbox],
            ..self
        }
    }

    pub const fn alone(self) -> Self {
        Case {
            exclusive: true,
            ..self
        }
    }
}

fn cases() -> Vec<Case> {
    [
        ctr_io::cases(),
        ctr_drain::cases(),
        ctr_exit::cases(),
        ctr_exec::cases(),
        ctr_kill::cases(),
        ctr_pause::cases(),
        ctr_stats::cases(),
        ctr_oom::cases(),
        ctr_restart::cases(),
        ctr_leaks::cases(),
        cri_pod::cases(),
        cri_exec::cases(),
        cri_shims::cases(),
        rec_capture::cases(),
        rec_alerts::cases(),
        rec_exits::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

type SharedEnv = Arc<std::sync::OnceLock<Result<Env, String>>>;

/// On SIGINT/SIGTERM/SIGHUP (Ctrl-C, a CI timeout), tear the private containerd down before
/// exiting. The signals are blocked in every thread and taken by one waiting thread; children
/// start with an empty signal mask (the standard library resets it).
fn tear_down_on_signal(env: SharedEnv) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(sig);
    }
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        if let Ok(sig) = set.wait() {
            eprintln!("\n{sig}: tearing down the private containerd");
            if let Some(Ok(env)) = env.get() {
                env.containerd.teardown();
            }
            std::process::exit(128 + sig as i32);
        }
    });
}

fn main() {
    let mut args = Arguments::from_args();
    // Container operations mostly wait; two at a time suits a 2-core machine.
    if args.test_threads.is_none() {
        args.test_threads = Some(2);
    }
    let env: SharedEnv = Arc::new(std::sync::OnceLock::new());
    tear_down_on_signal(Arc::clone(&env));
    let mut trials = Vec::new();
    for case in cases() {
        for &runtime in case.runtimes {
            let name = format!("{}::{}::{}", case.group, case.name, runtime);
            let env = Arc::clone(&env);
            let (run, exclusive) = (case.run, case.exclusive);
            trials.push(Trial::test(name, move || {
                let env = env
                    .get()
                    .ok_or_else(|| Failed::from("the environment was not set up"))?
                    .as_ref()
                    .map_err(|e| Failed::from(e.clone()))?;
                let _gate = if exclusive {
                    (None, Some(env.exclusive()))
                } else {
                    (Some(env.shared()), None)
                };
                run(env, runtime).map_err(|e| Failed::from(format!("{e:#}")))
            }));
        }
    }
    let wanted = !args.list && trials.iter().any(|t| !args.is_filtered_out(t));
    if wanted {
        let _ = env.set(Env::setup().map_err(|e| format!("{e:#}")));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Explicitly: the signal thread still holds a clone of `env`, so it is never dropped.
    if let Some(Ok(env)) = env.get() {
        env.containerd.teardown();
    }
    conclusion.exit();
}
