#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls this script).
#
#   1. installs what it needs (scripts/deps.sh),
#   2. checks formatting and lints,
#   3. runs every unit test (no root needed),
#   4. runs the privileged tests: the eBPF recorder and the end-to-end suite
#      against a private containerd (root needed; without root they fail,
#      they never skip).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE=1

step() { printf '\n==> %s\n' "$*"; }

# Every test runner's output is kept, to print one total at the end.
# A failing runner does not stop the suite: the later ones still run, so one
# CI run shows every failure, and the script fails at the end.
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
run_tests() {
  if ! "$@" 2>&1 | tee -a "$RESULTS"; then
    echo "FAILED: $*" | tee -a "$RESULTS"
  fi
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "build every binary (the shim and the CLI are used by the end-to-end suite)"
cargo build --workspace --bins

step "unit tests"
run_tests cargo test --workspace --exclude blackbox-integration

if [[ $(id -u) -ne 0 ]]; then
  echo "the privileged tests need root (they start a private containerd and load eBPF programs)" >&2
  echo "FAILED: not root" >>"$RESULTS"
else
  step "end-to-end tests: a private containerd, runc's shim and blackbox's side by side"
  run_tests cargo test -p blackbox-integration -- --test-threads=1
fi

# One closing line for the whole suite (each runner above printed its own).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^FAILED: / { r++ }
     END { printf "\ntotal: %d passed, %d failed", p, f; if (r) printf ", %d runner(s) failed (see FAILED: above)", r; printf "\n"; exit (f > 0 || r > 0) }' "$RESULTS"
