#!/usr/bin/env bash
# Benchmarks containerd-shim-blackbox-v2 against containerd's own
# containerd-shim-runc-v2, side by side in one run, on a private containerd:
#
#   - latency of `ctr run --rm ... /bin/true` (wall time of the whole command,
#     and the phases between containerd's events), runs interleaved
#     runc, blackbox, runc, blackbox, ... after a few warm-up runs;
#   - resident memory (VmRSS, Pss, USS) of each shim serving one running
#     container (`sleep 3600`).
#
# It prints a markdown table on stdout (progress goes to stderr). It is a
# benchmark, not a test: it never runs as part of `cargo test`.
#
# Usage (as root): bash scripts/bench-shim.sh
#
# Environment (all optional):
#   BENCH_RUNS=30        measured runs per runtime
#   BENCH_WARMUP=3       unmeasured warm-up runs per runtime
#   BENCH_MEM_ROUNDS=3   memory samples per runtime (one container per shim)
#   BENCH_MEM_GROUP=4    shims of each kind running at once for the shared Pss
#   BENCH_SHIM=PATH      measure this shim binary instead of building the
#                        release shim (for experiments on a copy of the crate)
#   BENCH_RUNC=PATH      runc binary for both shims (default /usr/sbin/runc)
#   BENCH_OUT=DIR        also keep the raw samples, the event log and the table
#
# Everything it starts (containerd, shims, containers) lives under one temp
# dir and one containerd namespace, and is removed on exit, also on failure.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and awk number formats

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$repo/bench
runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}
mem_rounds=${BENCH_MEM_ROUNDS:-3}
mem_group=${BENCH_MEM_GROUP:-4}
runc=${BENCH_RUNC:-/usr/sbin/runc}
out=${BENCH_OUT:-}

log() { echo "bench-shim: $*" >&2; }
die() {
    log "$*"
    exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (it starts containerd and containers)"
for tool in containerd ctr containerd-shim-runc-v2 busybox sha256sum awk; do
    command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
[[ -x $runc ]] || die "runc not found at $runc (set BENCH_RUNC)"
for n in "$runs" "$mem_rounds" "$mem_group"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS, BENCH_MEM_ROUNDS, BENCH_MEM_GROUP: positive numbers"
done
[[ $warmup =~ ^[0-9]+$ ]] || die "BENCH_WARMUP: a number"

# --- the shim under test -------------------------------------------------------
if [[ -n ${BENCH_SHIM:-} ]]; then
    shim_src=$BENCH_SHIM
else
    log "building the shim (cargo profile \"shim\": size-optimised release)"
    (cd "$repo" && cargo build --profile shim -p blackbox-shim) >&2
    shim_src=${CARGO_TARGET_DIR:-$repo/target}/shim/containerd-shim-blackbox-v2
fi
[[ -x $shim_src ]] || die "no shim binary at $shim_src"
if [[ -n ${BENCH_SHIM:-} ]]; then
    shim_desc="$shim_src (given as BENCH_SHIM)"
else
    shim_desc="shim-profile build of $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
    if [[ -n $(git -C "$repo" status --porcelain -- shim config Cargo.toml Cargo.lock 2>/dev/null) ]]; then
        shim_desc+=" with uncommitted changes in shim/, config/ or Cargo.*"
    fi
fi
shim_desc+=", $(stat -c %s "$shim_src") bytes"

# --- private world: temp dir, namespace, cleanup ------------------------------------
tmp=$(mktemp -d /tmp/blackbox-bench.XXXXXX)
pin_root=/sys/fs/bpf/blackbox-bench-shim-$$
ns=bbbench-$$
sock=$tmp/containerd.sock
runc_root=$tmp/runc
rootfs=$tmp/rootfs
containerd_pid=
events_pid=
ids=() # every container id used, to find a shim socket a killed shim left

ctr_ns() { ctr --address "$sock" --namespace "$ns" "$@"; }

# Shim processes serving our containerd (their argv names its address).
our_shims() {
    local d cmd
    for d in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        if [[ $cmd == *containerd-shim*" -address $sock "* ]]; then
            echo "${d#/proc/}"
        fi
    done
}

our_mounts() {
    awk -v p="$tmp" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo
}

cleanup() {
    local rc=$? id pid sum i leftovers=0
    trap - EXIT INT TERM
    set +e
    if [[ -n $events_pid ]]; then
        kill "$events_pid" 2>/dev/null
        wait "$events_pid" 2>/dev/null
    fi
    if [[ -n $containerd_pid ]] && kill -0 "$containerd_pid" 2>/dev/null; then
        for id in $(ctr_ns task ls -q 2>/dev/null); do
            ctr_ns task delete --force "$id" >/dev/null 2>&1
        done
        for id in $(ctr_ns container ls -q 2>/dev/null); do
            ctr_ns container delete "$id" >/dev/null 2>&1
        done
    fi
    # Containers whose shim died before deleting them.
    if [[ -d $runc_root/$ns ]]; then
        for id in $("$runc" --root "$runc_root/$ns" list -q 2>/dev/null); do
            "$runc" --root "$runc_root/$ns" delete --force "$id" >/dev/null 2>&1
        done
    fi
    for pid in $(our_shims); do kill -KILL "$pid" 2>/dev/null; done
    if [[ -n $containerd_pid ]]; then
        kill -TERM "$containerd_pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            kill -0 "$containerd_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$containerd_pid" 2>/dev/null
        wait "$containerd_pid" 2>/dev/null
    fi
    # A shim that was killed leaves its socket: sha256(address/namespace/id).
    for id in "${ids[@]}"; do
        sum=$(printf '%s' "$sock/$ns/$id" | sha256sum)
        rm -f "/run/containerd/s/${sum%% *}"
    done
    for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
        [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    our_mounts | sort -r | while read -r m; do umount -l "$m"; done
    [[ -n $(our_shims) ]] && { log "LEFT BEHIND: shim processes $(our_shims | tr '\n' ' ')"; leftovers=1; }
    [[ -n $(our_mounts) ]] && { log "LEFT BEHIND: mounts under $tmp"; leftovers=1; }
    for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
        [[ -d $d ]] && { log "LEFT BEHIND: cgroup $d"; leftovers=1; }
    done
    if [[ $rc -ne 0 && -f $tmp/containerd.log ]]; then
        log "containerd log (last 20 lines):"
        tail -n 20 "$tmp/containerd.log" >&2
    fi
    rm -rf --one-file-system "$tmp"
    [[ -e $tmp ]] && { log "LEFT BEHIND: $tmp"; leftovers=1; }
    # The recorder's pins (unpinning detaches the programs).
    rm -rf "$pin_root"
    ((rc == 0 && leftovers)) && rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- binaries, rootfs, configs ---------------------------------------------------------
# Both shims are copied, so a rebuild elsewhere cannot swap a binary mid-run,
# and neither shares its text pages with shims of other containerds (Pss).
mkdir -p "$tmp/bin" "$tmp/fifo" "$runc_root"
cp "$shim_src" "$tmp/bin/containerd-shim-blackbox-v2"
cp "$(command -v containerd-shim-runc-v2)" "$tmp/bin/containerd-shim-runc-v2"

mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,tmp,root}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
    # Never replace busybox itself with a link to itself.
    [[ $applet == busybox || -e $rootfs/bin/$applet ]] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"

cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
oom_score = 0
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$tmp/opt"
EOF

# blackbox's node config: everything the shim writes stays in this run's directories.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=bench/node-config.sh
source "$repo/bench/node-config.sh"
bench_node_config "$tmp" "$pin_root"

cat >"$tmp/blackbox-runtime.toml" <<EOF
BinaryName = "$runc"
Root = "$runc_root"
SystemdCgroup = false
EOF

runtime_flags() {
    case $1 in
    runc) echo "--runtime io.containerd.runc.v2 --runc-binary $runc --runc-root $runc_root" ;;
    blackbox) echo "--runtime io.containerd.blackbox.v2 --runtime-config-path $tmp/blackbox-runtime.toml" ;;
    esac
}

# --- containerd ------------------------------------------------------------------------
log "starting containerd in $tmp (namespace $ns)"
BLACKBOX_CONFIG="$tmp/node.toml" PATH="$tmp/bin:$PATH" \
    containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
containerd_pid=$!
for ((i = 0; i < 100; i++)); do
    ctr --address "$sock" version >/dev/null 2>&1 && break
    kill -0 "$containerd_pid" 2>/dev/null || die "containerd exited"
    sleep 0.1
done
ctr --address "$sock" version >/dev/null 2>&1 || die "containerd did not answer within 10 s"

ctr --address "$sock" events >"$tmp/events.log" 2>&1 &
events_pid=$!

samples=$tmp/latency.tsv # metric, runtime, value
pairs=$tmp/pairs.tsv     # round, runtime, wall ms
memory=$tmp/memory.tsv   # metric, runtime, value
: >"$samples"
: >"$pairs"
: >"$memory"

wall_metric="\`ctr run --rm\` wall time" # summarize.awk knows its budget

# One `ctr run --rm ... /bin/true`; appends its wall time unless warming up.
# Measured containers are named r<round> and b<round> (events.awk reads them).
run_true() {
    local rt=$1 id=$2 round=$3 t0 t1 flags ms
    read -ra flags <<<"$(runtime_flags "$rt")"
    ids+=("$id")
    t0=${EPOCHREALTIME/./}
    ctr_ns run --rm --rootfs --fifo-dir "$tmp/fifo" --cgroup "/$ns/$id" "${flags[@]}" \
        "$rootfs" "$id" /bin/true </dev/null ||
        die "ctr run --rm under $rt failed (container $id)"
    t1=${EPOCHREALTIME/./}
    [[ $round == warmup ]] && return
    ms=$(awk -v us="$((t1 - t0))" 'BEGIN { printf "%.3f", us / 1000 }')
    printf '%s\t%s\t%s\n' "$wall_metric" "$rt" "$ms" >>"$samples"
    printf '%s\t%s\t%s\n' "$round" "$rt" "$ms" >>"$pairs"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "latency: $warmup warm-up and $runs measured runs per runtime, interleaved"
for ((i = 1; i <= warmup; i++)); do
    run_true runc "warm-r$i" warmup
    run_true blackbox "warm-b$i" warmup
done
for ((i = 1; i <= runs; i++)); do
    run_true runc "r$i" "$i"
    run_true blackbox "b$i" "$i"
done

# --- memory ------------------------------------------------------------------------------
kib_field() { awk -v k="$1:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$2"; }
mib() { awk -v kib="$1" 'BEGIN { printf "%.2f", kib / 1024 }'; }

# The pid of the shim serving container ID: the parent of its init process
# (the shim is the subreaper runc's init is left with).
shim_of() {
    local id=$1 task_pid shim_pid comm
    task_pid=$(ctr_ns task ls | awk -v id="$id" '$1 == id { print $2 }')
    [[ -n $task_pid ]] || die "no task $id"
    shim_pid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$task_pid/status")
    comm=$(cat "/proc/$shim_pid/comm")
    [[ $comm == containerd-shim* ]] || die "parent of task $id is $comm ($shim_pid), not a shim"
    echo "$shim_pid"
}

# Starts `sleep 3600` in container ID under runtime RT, detached.
start_sleeper() {
    local rt=$1 id=$2 flags
    read -ra flags <<<"$(runtime_flags "$rt")"
    ids+=("$id")
    ctr_ns run -d --rootfs --fifo-dir "$tmp/fifo" --cgroup "/$ns/$id" "${flags[@]}" \
        "$rootfs" "$id" /bin/sleep 3600 </dev/null >/dev/null ||
        die "ctr run -d under $rt failed (container $id)"
}

stop_sleeper() {
    ctr_ns task delete --force "$1" >/dev/null
    ctr_ns container delete "$1"
}

measure_shim() {
    local rt=$1 pid st roll uss bpf_kib
    pid=$(shim_of "$2")
    st=/proc/$pid/status
    roll=/proc/$pid/smaps_rollup
    uss=$(($(kib_field Private_Clean "$roll") + $(kib_field Private_Dirty "$roll")))
    # Resident pages of the recorder's ring buffer and other BPF maps
    # (anon_inode:bpf-ringbuf / bpf-map mappings): excluded from the budget.
    bpf_kib=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { bpf = ($0 ~ /bpf/) } bpf && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps")
    {
        printf 'VmRSS (MiB)\t%s\t%s\n' "$rt" "$(mib "$(kib_field VmRSS "$st")")"
        printf 'VmRSS without BPF map mappings (MiB)\t%s\t%s\n' "$rt" "$(mib "$(($(kib_field VmRSS "$st") - bpf_kib))")"
        printf 'Pss (MiB)\t%s\t%s\n' "$rt" "$(mib "$(kib_field Pss "$roll")")"
        printf 'USS = Private_Clean + Private_Dirty (MiB)\t%s\t%s\n' "$rt" "$(mib "$uss")"
        printf 'threads\t%s\t%s\n' "$rt" "$(kib_field Threads "$st")"
    } >>"$memory"
}

log "memory: $mem_rounds rounds, one sleeping container per shim"
for ((i = 1; i <= mem_rounds; i++)); do
    for rt in runc blackbox; do start_sleeper "$rt" "mem-$rt$i"; done
    sleep 2 # let both shims settle after Create/Start
    for rt in runc blackbox; do measure_shim "$rt" "mem-$rt$i"; done
    for rt in runc blackbox; do stop_sleeper "mem-$rt$i"; done
done

# On a node, the shims of one kind share their binary's text (and all shims
# share libc): Pss with several of them running is the cost per container.
log "memory: Pss with $mem_group shims of each kind running"
group_metric="Pss, $mem_group shims of each kind running (MiB)"
for ((i = 1; i <= mem_group; i++)); do
    for rt in runc blackbox; do start_sleeper "$rt" "grp-$rt$i"; done
done
sleep 2
for ((i = 1; i <= mem_group; i++)); do
    for rt in runc blackbox; do
        printf '%s\t%s\t%s\n' "$group_metric" "$rt" \
            "$(mib "$(kib_field Pss "/proc/$(shim_of "grp-$rt$i")/smaps_rollup")")" >>"$memory"
    done
done
for ((i = 1; i <= mem_group; i++)); do
    for rt in runc blackbox; do stop_sleeper "grp-$rt$i"; done
done

# --- phases from containerd's events --------------------------------------------------
sleep 0.5 # the last events reach the subscriber
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
events_pid=
awk -f "$bench/events.awk" -v measured='^[rb][0-9]+$' "$tmp/events.log" >>"$samples"

# --- report ------------------------------------------------------------------------------
report() {
    local paired
    paired=$(awk -f "$bench/paired-ratio.awk" "$pairs")
    echo "### containerd-shim-blackbox-v2 vs containerd-shim-runc-v2"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), containerd $(containerd --version | awk '{ print $3 }'), $("$runc" --version | awk 'NR == 1 { print $3 }'); load average before: $load_before"
    echo
    echo "blackbox shim: $shim_desc"
    echo
    echo "Latency: $runs runs per runtime, interleaved after $warmup warm-up runs each."
    echo
    awk -f "$bench/summarize.awk" -v title="latency (ms)" -v spread="p95" "$samples"
    echo
    echo "Median over rounds of the per-round ratio blackbox/runc of the wall time: ${paired% *}× (${paired#* } rounds)."
    echo
    echo "Memory: $mem_rounds rounds, each shim serving one running container (\`sleep 3600\`);"
    echo "the last row with $mem_group containers of each runtime running at once."
    echo
    awk -f "$bench/summarize.awk" -v title="shim memory" -v spread="max" "$memory"
}

report_file=$tmp/report.md
report >"$report_file"
cat "$report_file"
if [[ -n $out ]]; then
    mkdir -p "$out"
    cp "$samples" "$pairs" "$memory" "$tmp/events.log" "$tmp/containerd.log" "$report_file" "$out/"
    log "raw samples and the table kept in $out"
fi
