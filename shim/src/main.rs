//! `containerd-shim-blackbox-v2`: the containerd task v2 shim of blackbox.
//!
//! It runs containers through runc exactly as containerd's own
//! `io.containerd.runc.v2` shim does. Standard output belongs to containerd
//! (`start` prints the socket address, `delete` a protobuf answer); every log
//! line goes to the `log` FIFO containerd reads, or to stderr before it exists.

mod alerts;
mod console;
mod container;
mod containerd_meta;
mod errors;
mod events;
mod exits;
mod io;
mod log_uri;
mod logging;
mod oom;
mod options;
mod process;
mod recording;
mod runc_exec;
mod service;
mod spawn;
mod stats;
mod task;

use containerd_shim::{asynchronous::run, parse, Config};

/// The runtime type containerd selects this shim by.
pub const RUNTIME_ID: &str = "io.containerd.blackbox.v2";

fn main() {
    let args: Vec<_> = std::env::args_os().collect();
    match parse(&args[1..]) {
        Ok(flags) if flags.version => {
            // `-v` is the only action whose answer is meant for a person.
            #[allow(clippy::print_stdout)]
            {
                println!("{}:", args[0].to_string_lossy());
                println!("  Version: {}", env!("CARGO_PKG_VERSION"));
                println!("  Runtime: {RUNTIME_ID}");
            }
            return;
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("{RUNTIME_ID}: invalid arguments: {e}");
            std::process::exit(1);
        }
    }
    // One thread runs the task service: the shim waits on runc and the
    // kernel, and blocking work goes to spawn_blocking. It halves the
    // shim's threads and keeps its memory within budget.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{RUNTIME_ID}: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let config = Config {
        // Our own logger puts the container id on every line.
        no_setup_logger: true,
        ..Config::default()
    };
    runtime.block_on(run::<service::BlackboxShim>(RUNTIME_ID, Some(config)));
}
