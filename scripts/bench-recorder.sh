#!/usr/bin/env bash
# Benchmarks the flight recorder's cost to the workloads it watches, side by
# side in one run, as ratios (issue 3), on a private containerd:
#
#   1. In a container: open/read/close, fork+exec and TCP loopback loops
#      (bench/bbload.c, measured inside the program), each round once under
#      containerd's runc shim with no blackbox programs attached (the
#      baseline), once under the blackbox shim with recording off for the
#      container (`blackbox.io/record=false`: the shim's own cost) and once
#      recorded. The programs are unpinned (detached) at the start of every
#      round, and the recorded run comes last, so the first two never run
#      with the recorder's programs attached.
#   2. Outside any recorded container: the same loops run directly on the
#      host, alternately with no blackbox programs attached and while a
#      blackbox container (`sleep`) is recorded, so the programs are attached
#      and the node has a registration the host's syscalls must miss.
#   Both also run with the floor attached instead (part 1: under runc's
#   shim): do-nothing programs on the same syscall tracepoints
#   (recorder-ebpf/bpf/floor.bpf.c, `blackbox-recorder-ctl floor`), what any
#   recorder built on them costs before it does anything.
#   3. Events per second: a container calling getppid() in a loop, paced at
#      several rates (and unpaced), recorded; the rate the capture received
#      and what the kernel side counted as lost.
#
# It prints markdown tables on stdout (progress goes to stderr). It is a
# benchmark, not a test: it never runs as part of `cargo test`.
#
# Usage (as root): bash scripts/bench-recorder.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=30           rounds of part 1 and of part 2
#   BENCH_OPENREAD=20000      iterations per run of each workload
#   BENCH_FORKEXEC=500
#   BENCH_TCP=10000
#   BENCH_FLOOD="1:100000 1:250000 1:500000 1:0 2:0 4:0"
#                             THREADS:SYSCALLS_PER_SECOND per flood run (0 =
#                             unpaced); each syscall is two events (enter, exit),
#                             from one record (its exit)
#   BENCH_FLOOD_SECONDS=8     length of each flood run
#   BENCH_CPU=here            BBLOAD_CPU for the workloads: pinned to the CPU
#                             they start on ("here"), a CPU number, or "" (not pinned)
#   BENCH_RING=               ring buffer bytes for the recorded workload containers
#                             (blackbox.io/ring-buffer-bytes; default: the node's, 8 MiB)
#   BENCH_FLOOD_RING=         ring buffer bytes for the flood container
#                             (blackbox.io/ring-buffer-bytes; default: the node's, 8 MiB)
#   BENCH_SHIM=PATH           measure this shim binary instead of building one
#   BENCH_CTL=PATH            blackbox-recorder-ctl for the floor (default: built
#                             with the shim's cargo profile)
#   BENCH_RUNC=PATH           runc binary for both shims (default /usr/sbin/runc)
#   BENCH_OUT=DIR             also keep the raw samples, the tables and containerd's log
#
# Everything it starts lives under one temp dir, one containerd namespace and
# one bpffs pin root (/sys/fs/bpf/bench-recorder-<pid>), and is removed on
# exit, also on failure; the run fails if anything is left.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name="bench-recorder"
rounds=${BENCH_ROUNDS:-30}
n_openread=${BENCH_OPENREAD:-20000}
n_forkexec=${BENCH_FORKEXEC:-500}
n_tcp=${BENCH_TCP:-10000}
floods=${BENCH_FLOOD:-1:100000 1:250000 1:500000 1:0 2:0 4:0}
flood_seconds=${BENCH_FLOOD_SECONDS:-8}
flood_ring=${BENCH_FLOOD_RING:-}
ring=${BENCH_RING:-}
cpu=${BENCH_CPU-here}
runc=${BENCH_RUNC:-/usr/sbin/runc}
out=${BENCH_OUT:-}
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"

bench_require gcc bpftool
for n in "$rounds" "$n_openread" "$n_forkexec" "$n_tcp" "$flood_seconds"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS, BENCH_OPENREAD, BENCH_FORKEXEC, BENCH_TCP, BENCH_FLOOD_SECONDS: positive numbers"
done
for f in $floods; do
    [[ $f =~ ^[1-9][0-9]*:[0-9]+$ ]] || die "BENCH_FLOOD: THREADS:RATE pairs, not $f"
done
for n in "$ring" "$flood_ring"; do
    [[ -z $n || $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_RING, BENCH_FLOOD_RING: a number of bytes"
done

started=$EPOCHREALTIME
bench_build_shim
if [[ -n ${BENCH_CTL:-} ]]; then
    ctl=$BENCH_CTL
else
    log "building blackbox-recorder-ctl (the floor's loader)"
    (cd "$repo" && cargo build --profile shim -p blackbox-recorder --bin blackbox-recorder-ctl) >&2
    ctl=${CARGO_TARGET_DIR:-$repo/target}/shim/blackbox-recorder-ctl
fi
[[ -x $ctl ]] || die "no blackbox-recorder-ctl at $ctl"
bench_world_create

# --- the recorder's pins, the node config, the workload binary ------------------------
pin_root=/sys/fs/bpf/$ns
prog_ids=() # every program id the recorder loaded during the run

floor_pid=

bench_cleanup_hook() {
    if [[ -n $floor_pid ]]; then
        kill "$floor_pid" 2>/dev/null || true
        wait "$floor_pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -rf "$pin_root"
}
bench_leftovers_hook() {
    local id
    [[ -e $pin_root ]] && echo "pins under $pin_root"
    bpftool prog list 2>/dev/null | grep -q 'name bb_floor_' && echo "floor programs still loaded"
    for id in "${prog_ids[@]}"; do
        wait_prog_gone "$id" || echo "BPF program $id still loaded"
    done
}

# The program behind a pin stays loaded (and attached, through its link)
# until the last fd is closed: a shim that is exiting may still hold one.
wait_prog_gone() {
    local i
    for ((i = 0; i < 50; i++)); do
        bpftool prog show id "$1" >/dev/null 2>&1 || return 0
        sleep 0.1
    done
    return 1
}

# Detaches the recorder: removes its version directories (pins of maps,
# programs and links), then checks the programs are really gone.
detach_recorder() {
    local d id
    for d in "$pin_root"/v*; do
        [[ -d $d ]] || continue
        id=$(bpftool prog show pinned "$d/prog_bb_sys_enter" 2>/dev/null | awk -F: 'NR == 1 { print $1 }')
        [[ -n $id ]] && remember_prog "$id"
        rm -rf "$d"
    done
    for id in "${prog_ids[@]}"; do
        wait_prog_gone "$id" || die "BPF program $id still loaded after unpinning"
    done
}

remember_prog() {
    local id
    for id in "${prog_ids[@]}"; do [[ $id == "$1" ]] && return; done
    prog_ids+=("$1")
}

# The floor: do-nothing programs on sys_enter/sys_exit, attached by a
# blackbox-recorder-ctl process (not pinned: they go away with it).
floor_on() {
    local i
    "$ctl" floor --seconds 86400 >"$tmp/floor.out" 2>&1 &
    floor_pid=$!
    for ((i = 0; i < 100; i++)); do
        grep -q attached "$tmp/floor.out" 2>/dev/null && return 0
        kill -0 "$floor_pid" 2>/dev/null || break
        sleep 0.1
    done
    die "blackbox-recorder-ctl floor did not attach: $(cat "$tmp/floor.out")"
}

floor_off() {
    local i
    [[ -n $floor_pid ]] || return 0
    kill "$floor_pid" 2>/dev/null || true
    wait "$floor_pid" 2>/dev/null || true
    floor_pid=
    for ((i = 0; i < 50; i++)); do
        bpftool prog list 2>/dev/null | grep -q 'name bb_floor_' || return 0
        sleep 0.1
    done
    die "the floor's programs are still loaded after its loader exited"
}

attached_count() {
    bpftool prog list 2>/dev/null | grep -c 'name bb_sys_enter' || true
}

# Everything the shim writes stays in the run's directory; live rules are off: this
# measures the recorder.
# shellcheck source=bench/node-config.sh
source "$repo/bench/node-config.sh"
bench_node_config "$tmp" "$pin_root"

log "building bench/bbload.c (static)"
gcc -static -O2 -pthread -Wall -Wextra -o "$tmp/bbload" "$repo/bench/bbload.c"
cp "$tmp/bbload" "$rootfs/bin/bbload"
mkdir -p "$tmp/host"

bench_containerd_start BLACKBOX_CONFIG="$tmp/node.toml"

samples=$tmp/containers.tsv # workload, round, variant, ns/iteration
host=$tmp/host.tsv          # workload, round, variant, ns/iteration
floodtab=$tmp/flood.md
recorded=$tmp/recorded.tsv # round, records, dropped (of the recorded workload runs)
: >"$samples"
: >"$host"
: >"$recorded"

workload_args=(openread "$n_openread" forkexec "$n_forkexec" tcp "$n_tcp")

# The shim's closing line for container ID: "capture closed: CaptureSummary {...}".
capture_summary() {
    local id=$1 i line
    for ((i = 0; i < 200; i++)); do
        line=$(grep -F "capture closed" "$tmp/containerd.log" | grep -F "namespace=$ns" | grep -F "container=$id" | tail -n 1 || true)
        [[ -n $line ]] && break
        sleep 0.1
    done
    [[ -n $line ]] || die "no 'capture closed' line for $id in containerd's log"
    echo "$line"
}

# A counter "name: N" from a summary line.
counter() {
    awk -v k="$1: " '{ i = index($0, k); if (i) { s = substr($0, i + length(k)); match(s, /^[0-9]+/); print substr(s, 1, RLENGTH); exit } }' <<<"$2"
}

# Runs bbload in a fresh container under VARIANT; appends its results to FILE.
run_in_container() {
    local variant=$1 round=$2 file=$3 id flags text line summary
    id=$variant-$round
    ids+=("$id")
    case $variant in
    runc | floor) read -ra flags <<<"$(runtime_flags runc)" ;;
    blackbox)
        read -ra flags <<<"$(runtime_flags blackbox)"
        [[ -n $ring ]] && flags+=(--annotation "blackbox.io/ring-buffer-bytes=$ring")
        ;;
    norec)
        read -ra flags <<<"$(runtime_flags blackbox)"
        flags+=(--annotation blackbox.io/record=false)
        ;;
    esac
    # The results go to a file in the rootfs, not through ctr: `ctr run
    # --rm` now and then loses a container's last output (see the docs).
    rm -f "$rootfs/tmp/result"
    ctr_ns run --rm --rootfs --fifo-dir "$tmp/fifo" --cgroup "/$ns/$id" "${flags[@]}" \
        --env "BBLOAD_CPU=$cpu" --env BBLOAD_OUT=/tmp/result "$rootfs" "$id" \
        /bin/bbload "${workload_args[@]}" </dev/null ||
        die "bbload under $variant failed (container $id)"
    text=$(cat "$rootfs/tmp/result")
    [[ $(wc -l <<<"$text") -eq 3 ]] || die "bbload under $variant: no complete result ($text)"
    while read -r line; do
        read -ra f <<<"$line"
        printf '%s\t%s\t%s\t%s\n' "${f[0]}" "$round" "$variant" "${f[2]}" >>"$file"
    done <<<"$text"
    if [[ $variant == blackbox && $round != warmup ]]; then
        summary=$(capture_summary "$id")
        printf '%s\t%s\t%s\n' "$round" "$(counter records "$summary")" \
            "$(($(counter ringbuf_full "$summary") + $(counter no_ring "$summary") + $(counter scratch_overflow "$summary")))" >>"$recorded"
        remember_prog "$(bpftool prog show pinned "$pin_root"/v*/prog_bb_sys_enter | awk -F: 'NR == 1 { print $1 }')"
        rm -rf "${tmp:?}/work/$ns/$id"
    fi
}

run_on_host() {
    local variant=$1 round=$2 line text
    text=$(BBLOAD_DIR=$tmp/host BBLOAD_CPU=$cpu "$tmp/bbload" "${workload_args[@]}")
    while read -r line; do
        read -ra f <<<"$line"
        printf '%s\t%s\t%s\t%s\n' "${f[0]}" "$round" "$variant" "${f[2]}" >>"$host"
    done <<<"$text"
}

start_sleeper() {
    local id=$1 flags
    ids+=("$id")
    read -ra flags <<<"$(runtime_flags blackbox)"
    ctr_ns run -d --rootfs --fifo-dir "$tmp/fifo" --cgroup "/$ns/$id" "${flags[@]}" \
        "$rootfs" "$id" /bin/sleep 3600 </dev/null >/dev/null ||
        die "ctr run -d under blackbox failed (container $id)"
}

stop_sleeper() {
    ctr_ns task delete --force "$1" >/dev/null 2>&1 || die "task delete $1 failed"
    ctr_ns container delete "$1"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
foreign_before=$(attached_count)

# --- 1. in a container: runc shim, blackbox not recording, blackbox recording -----------
log "part 1: $rounds rounds of runc / blackbox not recording / blackbox recording ($n_openread open/read/close, $n_forkexec fork+exec, $n_tcp TCP round trips each)"
log "warm-up round (not measured)"
detach_recorder
for variant in runc norec floor blackbox; do
    [[ $variant == floor ]] && floor_on
    run_in_container "$variant" warmup /dev/null
    [[ $variant == floor ]] && floor_off
done
for ((r = 1; r <= rounds; r++)); do
    detach_recorder
    # The first two alternate their order; then the floor; the recorded run
    # attaches the programs, so it comes last.
    if ((r % 2)); then order=(runc norec floor blackbox); else order=(norec runc floor blackbox); fi
    for variant in "${order[@]}"; do
        [[ $variant == floor ]] && floor_on
        run_in_container "$variant" "$r" "$samples"
        [[ $variant == floor ]] && floor_off
    done
    log "round $r/$rounds done"
done

# --- 2. outside any recorded container ---------------------------------------------------
log "part 2: $rounds rounds on the host, programs detached / floor / attached with a recorded container running"
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then phases=(off floor on); else phases=(on floor off); fi
    for phase in "${phases[@]}"; do
        if [[ $phase == off ]]; then
            detach_recorder
            ((r == 1)) && run_on_host off warmup
            run_on_host off "$r"
        elif [[ $phase == floor ]]; then
            detach_recorder
            floor_on
            ((r == 1)) && run_on_host floor warmup
            run_on_host floor "$r"
            floor_off
        else
            start_sleeper "sleeper-$r"
            ((r == 1)) && run_on_host on warmup
            run_on_host on "$r"
            stop_sleeper "sleeper-$r"
        fi
    done
    log "round $r/$rounds done"
done
grep -v $'\twarmup\t' "$host" >"$host.m" && mv "$host.m" "$host"

# --- 3. events per second ------------------------------------------------------------------
# One flood container under VARIANT (runc: the unrecorded baseline, programs
# detached; blackbox: recorded); appends a row to the flood table.
run_flood() {
    local variant=$1 threads=$2 rate=$3 id flags ctr_pid task_pid shim_pid shim_ticks t
    local secs calls done_rate cpu summary written lost seen
    flood_no=$((flood_no + 1))
    id=flood-$flood_no
    ids+=("$id")
    read -ra flags <<<"$(runtime_flags "$variant")"
    [[ $variant == blackbox && -n $flood_ring ]] && flags+=(--annotation "blackbox.io/ring-buffer-bytes=$flood_ring")
    rm -f "$rootfs/tmp/result"
    ctr_ns run --rm --rootfs --fifo-dir "$tmp/fifo" --cgroup "/$ns/$id" "${flags[@]}" \
        --env BBLOAD_OUT=/tmp/result "$rootfs" "$id" \
        /bin/bbload flood "$flood_seconds" "$threads" "$rate" </dev/null &
    ctr_pid=$!
    # The shim's CPU time (for blackbox: its recording thread, the rest is
    # idle): the last value read while it is alive; it exits once the task is
    # deleted, after the recording's last drain.
    shim_pid=
    shim_ticks=0
    while kill -0 "$ctr_pid" 2>/dev/null; do
        if [[ -z $shim_pid ]]; then
            task_pid=$(ctr_ns task ls 2>/dev/null | awk -v id="$id" '$1 == id && $2 > 0 { print $2 }')
            [[ -n $task_pid ]] && shim_pid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$task_pid/status" 2>/dev/null || true)
        fi
        if [[ -n $shim_pid ]]; then
            t=$(awk '{ print $14 + $15 }' "/proc/$shim_pid/stat" 2>/dev/null || true)
            [[ -n $t ]] && shim_ticks=$t
        fi
        sleep 0.2
    done
    wait "$ctr_pid" || die "flood container $id failed"
    read -r _ _ secs calls done_rate cpu <"$rootfs/tmp/result" || die "no result from $id"
    written=- lost=- seen=- events=-
    if [[ $variant == blackbox ]]; then
        summary=$(capture_summary "$id")
        written=$(counter records "$summary")
        # A record is one event or two (the capture writes a syscall's enter event from
        # its exit record): the events are what the capture got.
        events=$(counter events_written "$summary")
        lost=$(($(counter ringbuf_full "$summary") + $(counter no_ring "$summary") + $(counter scratch_overflow "$summary")))
        seen=$(counter records_seen "$summary")
        rm -rf "${tmp:?}/work/$ns/$id"
    fi
    awk -v v="$variant" -v th="$threads" -v rate="$rate" -v secs="$secs" -v calls="$calls" \
        -v done_rate="$done_rate" -v cpu="$cpu" -v written="$written" -v lost="$lost" -v seen="$seen" -v events="$events" \
        -v ticks="$shim_ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {
            rec = (v == "blackbox")
            shim_cpu = ticks / hz
            printf "| %s | %d | %s | %.0f | %.2f | %.0f | %.0f | %s | %s | %s | %s | %s | %s |\n",
                rec ? "blackbox, recorded" : "runc shim, detached", th, rate == 0 ? "unpaced" : rate,
                done_rate, cpu / secs, 1e9 * cpu / calls, 2 * calls / secs,
                rec ? written : "–",
                rec ? sprintf("%d (%.2f %%)", lost, 100 * lost / (written + lost)) : "–",
                rec ? sprintf("**%.0f**", events / secs) : "–",
                rec ? seen : "–",
                rec ? sprintf("%.2f", shim_cpu / secs) : "–",
                (rec && shim_cpu > 0) ? sprintf("%.0f", events / shim_cpu) : "–"
        }' >>"$floodtab"
    log "flood $variant $threads:$rate: $(tail -n 1 "$floodtab")"
}

log "part 3: flood runs of $flood_seconds s: $floods (threads:syscalls/s)"
detach_recorder
{
    echo "| shim | flood threads | paced at (syscalls/s) | syscalls/s done | flooder CPU (cores) | flooder CPU ns per syscall | events/s offered (2 per syscall) | records written | records lost | events/s recorded (capture's events) | records the capture received | shim CPU (cores) | events per shim CPU-second |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$floodtab"
flood_no=0
run_flood runc 1 0
for f in $floods; do
    run_flood blackbox "${f%%:*}" "${f#*:}"
done
detach_recorder
foreign_after=$(attached_count)
elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# --- report ---------------------------------------------------------------------------------
report() {
    local nrec lost
    nrec=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$recorded")
    lost=$(awk -F'\t' '{ s += $3 } END { print s + 0 }' "$recorded")
    echo "### Recorder: workload overhead"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), containerd $(containerd --version | awk '{ print $3 }'), runc $("$runc" --version | awk 'NR == 1 { print $3 }'); load average before: $load_before; run took ${elapsed} s"
    echo
    echo "blackbox shim: $shim_desc"
    echo
    echo "Other blackbox programs (sys_enter) attached on the node, not ours: $foreign_before before, $foreign_after after the run."
    echo
    echo "In a container, $rounds rounds; per round a fresh container per variant runs \`bbload ${workload_args[*]}\`."
    echo "runc shim and blackbox not recording (\`blackbox.io/record=false\`) run with the recorder's programs detached;"
    echo "floor: under runc's shim, with do-nothing programs on sys_enter/sys_exit instead of the recorder's (what attaching alone costs);"
    echo "recorded (ring buffer ${ring:-of the node config, 8 MiB}): $nrec records written over the $rounds recorded runs, $lost lost."
    echo
    awk -f "$bench/recorder-ratios.awk" -v budgets=container -v variants="runc blackbox norec floor" -v over=blackbox:floor \
        -v heads="runc shim|blackbox, recorded|blackbox, not recorded|floor" "$samples"
    echo
    echo "Outside any recorded container, $rounds rounds: the same \`bbload\` on the host, programs detached (no blackbox on the node)"
    echo "vs attached while one blackbox container is recorded (its \`sleep\` makes no syscalls), and vs the floor (do-nothing programs on sys_enter/sys_exit)."
    echo
    awk -f "$bench/recorder-ratios.awk" -v budgets=host -v variants="off on floor" -v over=on:floor \
        -v heads="detached|attached|floor" "$host"
    echo
    echo "Events per second: one recorded container, \`bbload flood $flood_seconds THREADS RATE\` (getppid), ring buffer ${flood_ring:-of the node config (8 MiB)}."
    echo "Budget: ≥ 1,000,000 events/s per node without loss."
    echo
    cat "$floodtab"
}

bench=$repo/bench
report_file=$tmp/report.md
report >"$report_file"
cat "$report_file"
if [[ -n $out ]]; then
    mkdir -p "$out"
    cp "$samples" "$host" "$recorded" "$tmp/containerd.log" "$report_file" "$out/"
    log "raw samples and the tables kept in $out"
fi
log "done in ${elapsed} s"
