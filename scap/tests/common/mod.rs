//! Shared helpers for the integration tests: the corpus location and synthetic captures. The
//! sysdig oracle is `blackbox_scap::oracle`.

#![allow(dead_code)]

pub mod synthetic;

use std::path::{Path, PathBuf};

/// The real captures, read in place.
pub const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/scap-samples/"
);

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
