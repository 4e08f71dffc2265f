# The blackbox node config of the latency and recorder benchmarks (sourced, never run):
# everything the shim writes (working directories, archives, node key, alert log, eBPF pins)
# stays in the run's directories, and live rules are off (they have their own benchmark,
# scripts/bench-rules.sh). scripts/bench-archive.sh writes its own: it varies compression
# and rules per run.
# shellcheck shell=bash

# bench_node_config TMP PIN_ROOT: writes TMP/node.toml.
bench_node_config() {
    cat >"$1/node.toml" <<EOF_CONFIG
[recording]
work_dir = "$1/work"
bpf_pin_root = "$2"

[archive]
archives_dir = "$1/archives"
node_key = "$1/node.key"

[rules]
enabled = false

[alerts]
log_path = "$1/alerts.jsonl"
EOF_CONFIG
}
