#!/usr/bin/env bash
# Benchmarks offline rule evaluation (issue 5), side by side in one run:
#
#   a. `blackbox scan CAPTURE --rules` with all three upstream Falco rules
#      files (stable, incubating, sandbox): events per second on one core;
#   b. `blackbox events CAPTURE FILTER -p %evt.num` against
#      `sysdig -r CAPTURE -p %evt.num FILTER` for a few filters: times, the
#      ratio, and a check that both select the same number of events;
#   c. baselines: the reader and the event model alone (a filter no event
#      passes, `evt.num<0`), for blackbox and sysdig.
#
# Every command runs pinned to one core (taskset -c BENCH_CPU), BENCH_ROUNDS
# times, interleaved (blackbox, sysdig, blackbox, ...); the table gives the
# medians of the wall time and of the CPU time (user+sys) of each command.
# On a shared machine the CPU time is the steadier figure: the wall time also
# counts the time other processes held the core.
#
# The capture: BENCH_CAPTURE, or one built from the SCAP samples of the corpus
# (scap/examples/scap_repeat.rs: their event blocks repeated with shifted
# timestamps until BENCH_EVENTS events, sysdig's per-tick `procinfo` events
# left out) in a temp dir removed on exit.
#
# It prints a markdown table on stdout (progress goes to stderr). It is a
# benchmark, not a test: it never runs as part of `cargo test`.
#
# Usage: bash scripts/bench-rules.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=3        runs of each command (the median is reported)
#   BENCH_EVENTS=5000000  events in the generated capture
#   BENCH_CAPTURE=FILE    use this capture instead of generating one
#   BENCH_CPU=1           the core every command is pinned to
#   BENCH_CORPUS=DIR      corpus root (falco-rules/, scap-samples/);
#                         default: ../shared/corpus next to the repository
#   BENCH_BIN=PATH        the blackbox binary (default: build it, release)
#   BENCH_BEFORE=PATH     another blackbox binary (an older build) whose scan and
#                         reader baseline are measured in the same rounds, for
#                         before/after rows
#   BENCH_OUT=DIR         also keep the raw samples and the table there
#   CARGO_TARGET_DIR      as cargo uses it (default: target/ in the repository)
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${BENCH_ROUNDS:-3}
events=${BENCH_EVENTS:-5000000}
cpu=${BENCH_CPU:-1}
corpus=${BENCH_CORPUS:-$repo/../shared/corpus}
out=${BENCH_OUT:-}
target=${CARGO_TARGET_DIR:-$repo/target}

log() { echo "bench-rules: $*" >&2; }
die() {
    log "$*"
    exit 1
}

for n in "$rounds" "$events"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS, BENCH_EVENTS: positive numbers"
done
for tool in sysdig taskset awk sort; do
    command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (Debian package 'time')"
rules_dir=$corpus/falco-rules
rules=()
for f in falco_rules.yaml falco-incubating_rules.yaml falco-sandbox_rules.yaml; do
    [[ -r $rules_dir/$f ]] || die "$rules_dir/$f not found (set BENCH_CORPUS)"
    rules+=(--rules "$rules_dir/$f")
done

tmp=$(mktemp -d /tmp/bench-rules.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
samples=$tmp/samples.tsv
: >"$samples"

# --- binaries and capture --------------------------------------------------------
if [[ -n ${BENCH_BIN:-} ]]; then
    bb=$BENCH_BIN
else
    log "building blackbox (release)"
    (cd "$repo" && CARGO_TARGET_DIR=$target cargo build --release --quiet -p blackbox-cli) >&2
    bb=$target/release/blackbox
fi
[[ -x $bb ]] || die "$bb is not executable"

if [[ -n ${BENCH_CAPTURE:-} ]]; then
    capture=$BENCH_CAPTURE
else
    log "building scap_repeat and a capture of $events events"
    (cd "$repo" && CARGO_TARGET_DIR=$target cargo build --release --quiet -p blackbox-scap --example scap_repeat) >&2
    inputs=()
    for f in falco_cat_write falco_connect_localhost falco_psp_privileged \
        falco_psp_run_as_user_0_container libs_curl_google libs_test_ipv6_client; do
        [[ -r $corpus/scap-samples/$f.scap ]] || die "$corpus/scap-samples/$f.scap not found"
        inputs+=("$corpus/scap-samples/$f.scap")
    done
    capture=$tmp/bench.scap
    "$target/release/examples/scap_repeat" --skip-type 234 "$capture" "$events" "${inputs[@]}" >&2
fi
[[ -r $capture ]] || die "$capture not readable"
nevents=$("$bb" events "$capture" -p %evt.num | tail -n 1)
[[ $nevents =~ ^[0-9]+$ ]] || die "cannot count the events of $capture"
log "capture $capture: $nevents events, $(stat -c %s "$capture") bytes"

# --- measuring --------------------------------------------------------------------
# measure KEY TOOL CMD...: runs CMD pinned, stdout counted in lines, and appends
# "KEY TOOL wall cpu lines" to the samples.
measure() {
    local key=$1 tool=$2
    shift 2
    local t0 t1 lines
    t0=$EPOCHREALTIME
    # Exit status 1 is "alerts found" for scan; anything else fails the run.
    lines=$({ /usr/bin/time -f '%U %S' -o "$tmp/time" taskset -c "$cpu" "$@" || [[ $? -eq 1 ]]; } | wc -l)
    t1=$EPOCHREALTIME
    local cpu_s
    cpu_s=$(awk '{ s = $1 + $2 } END { printf "%.3f", s }' "$tmp/time")
    printf '%s\t%s\t%.3f\t%s\t%s\n' "$key" "$tool" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$cpu_s" "$lines" >>"$samples"
}

filters=(
    'evt.type=open and fd.name startswith /etc'
    'evt.type=execve and evt.dir=<'
    'proc.name=curl and evt.type in (read, write, recvfrom, sendto)'
    'evt.type=connect and evt.rawres>=0'
)

for ((r = 1; r <= rounds; r++)); do
    log "round $r/$rounds"
    measure scan blackbox "$bb" scan "$capture" "${rules[@]}"
    if [[ -n ${BENCH_BEFORE:-} ]]; then
        measure scan_before blackbox "$BENCH_BEFORE" scan "$capture" "${rules[@]}"
        measure base_before blackbox "$BENCH_BEFORE" events "$capture" 'evt.num<0' -p %evt.num
    fi
    measure base blackbox "$bb" events "$capture" 'evt.num<0' -p %evt.num
    measure base sysdig sysdig -r "$capture" -p %evt.num 'evt.num<0'
    for i in "${!filters[@]}"; do
        measure "f$i" blackbox "$bb" events "$capture" "${filters[$i]}" -p %evt.num
        measure "f$i" sysdig sysdig -r "$capture" -p %evt.num "${filters[$i]}"
    done
done

# --- table --------------------------------------------------------------------------
{
    echo "Capture: $nevents events ($(stat -c %s "$capture") bytes), $rounds rounds, pinned to core $cpu; medians."
    echo
    echo "| measurement | blackbox wall s | blackbox cpu s | blackbox events/s (wall) | blackbox events/cpu-s | sysdig wall s | sysdig cpu s | blackbox/sysdig (wall) | blackbox/sysdig (cpu) | lines out (blackbox / sysdig) |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    keys=(scan base)
    labels=("scan, all upstream rules (alerts out)" "reader + model alone: \`evt.num<0\`")
    if [[ -n ${BENCH_BEFORE:-} ]]; then
        keys=(scan_before scan base_before base)
        labels=("scan, all upstream rules: BENCH_BEFORE build" "scan, all upstream rules (alerts out)"
            "reader + model alone: \`evt.num<0\`, BENCH_BEFORE build" "reader + model alone: \`evt.num<0\`")
    fi
    for i in "${!filters[@]}"; do
        keys+=("f$i")
        labels+=("\`${filters[$i]}\`")
    done
    for k in "${!keys[@]}"; do
        awk -F'\t' -v key="${keys[$k]}" -v label="${labels[$k]}" -v n="$nevents" '
            function median(a, c,    i, j, t) {
                for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
            }
            $1 == key && $2 == "blackbox" { bw[++nb] = $3; bc[nb] = $4; bl = $5 }
            $1 == key && $2 == "sysdig" { sw[++ns] = $3; sc[ns] = $4; sl = $5 }
            END {
                w = median(bw, nb); c = median(bc, nb)
                line = sprintf("| %s | %.2f | %.2f | %.2f M | %.2f M |", label, w, c, n / w / 1e6, n / c / 1e6)
                if (ns) {
                    w2 = median(sw, ns); c2 = median(sc, ns)
                    line = line sprintf(" %.2f | %.2f | %.2f | %.2f | %d / %d%s |", w2, c2, w / w2, c / c2, bl, sl, bl == sl ? "" : " **differ**")
                } else {
                    line = line sprintf(" – | – | – | – | %d |", bl)
                }
                print line
            }' "$samples"
    done
} >"$tmp/table.md"
cat "$tmp/table.md"
if [[ -n $out ]]; then
    mkdir -p "$out"
    cp "$samples" "$tmp/table.md" "$out/"
fi
if grep -q '\*\*differ\*\*' "$tmp/table.md"; then
    die "blackbox and sysdig selected different events (see the table)"
fi
