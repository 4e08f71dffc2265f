//! Shared helpers for the integration tests: the corpus location and the sysdig oracle.

#![allow(dead_code)]

pub mod synthetic;

use std::path::{Path, PathBuf};
use std::process::Command;

use blackbox_scap::ParamType;

/// The real captures, read in place.
pub const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/scap-samples/"
);

/// Debian's sysdig, the oracle.
pub const SYSDIG: &str = "/usr/bin/sysdig";

/// Path of a corpus sample.
pub fn sample(name: &str) -> PathBuf {
    Path::new(CORPUS).join(name)
}

/// All corpus samples, sorted.
pub fn samples() -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("corpus directory {CORPUS}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scap"))
        .collect();
    v.sort();
    assert!(v.len() >= 7, "expected the 7 corpus samples, found {v:?}");
    v
}

/// Fails (never skips) when sysdig is missing: these tests are the format's acceptance test.
pub fn require_sysdig() {
    assert!(
        Path::new(SYSDIG).exists(),
        "{SYSDIG} is missing: the SCAP oracle tests need Debian's sysdig 0.29.3 \
         (`apt-get install sysdig`)"
    );
}

/// Runs `sysdig -r FILE ARGS…` and returns stdout; panics with stderr on failure.
pub fn sysdig(file: &Path, args: &[&str]) -> String {
    require_sysdig();
    let out = Command::new(SYSDIG)
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {SYSDIG}: {e}"));
    assert!(
        out.status.success(),
        "sysdig -r {} {args:?} failed ({}): {}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `sysdig -r FILE -j` parsed line by line.
pub fn sysdig_json(file: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["-j"];
    args.extend_from_slice(extra);
    sysdig(file, &args)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("sysdig JSON {l:?}: {e}")))
        .collect()
}

/// Splits sysdig's `evt.info` (`name=value name=value `) into the values of `names`, which
/// must appear in this order; values may contain spaces.
pub fn split_info(info: &str, names: &[&str]) -> Option<Vec<String>> {
    let mut starts = Vec::with_capacity(names.len());
    let mut from = 0;
    for (i, n) in names.iter().enumerate() {
        let at = if i == 0 {
            info.starts_with(&format!("{n}=")).then_some(0)?
        } else {
            from + info[from..].find(&format!(" {n}="))? + 1
        };
        starts.push(at);
        from = at + n.len() + 1;
    }
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let vstart = starts[i] + n.len() + 1;
        let value = match starts.get(i + 1) {
            Some(next) => &info[vstart..next - 1],
            // sysdig ends evt.info with one space.
            None => info[vstart..].strip_suffix(' ').unwrap_or(&info[vstart..]),
        };
        out.push(value.to_string());
    }
    Some(out)
}

/// sysdig appends `(annotation)` to numbers it can explain (fd names, errno names, flag
/// names, user names); the main value must match exactly.
pub fn same_value(ty: ParamType, sysdig: &str, ours: &str) -> bool {
    if sysdig == ours {
        return true;
    }
    if ty == ParamType::FdList {
        // sysdig prints `fd:<fd type char><flags>`; the type char comes from its fd table.
        let strip = |e: &str| match e.split_once(':') {
            Some((fd, rest)) => format!("{fd}:{}", rest.get(1..).unwrap_or_default()),
            None => e.to_string(),
        };
        return sysdig
            .split(' ')
            .map(strip)
            .eq(ours.split(' ').map(str::to_string));
    }
    sysdig
        .strip_prefix(ours)
        .is_some_and(|rest| rest.starts_with('(') && rest.ends_with(')'))
}
