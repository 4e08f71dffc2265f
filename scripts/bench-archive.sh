#!/usr/bin/env bash
# Benchmarks archive sealing and `blackbox events` (issue 4), side by side in
# one run, on a private containerd:
#
#   1. Seal: recorded containers of a local image (so they have an overlay
#      upper dir whose changes go into the archive) exit; from the container's
#      exit (the archive's metadata `exited_at`, the shim's reaper time) to
#      the archive file appearing under its final name (it is written to a
#      hidden temporary file and renamed when complete, so appearing means
#      complete), polled every 10 ms; plus the shim's own numbers from
#      containerd's log ("capture closed" time, "sealed … in D"). Containers:
#        big      writes BENCH_FILES_MB (50) MiB of files (half text, half
#                 random) with dd bs=64k under snaplen 65535, so the capture
#                 holds every read and write buffer: ~100 MB of events
#        typical  a few MB: bbload openread 10000 (60,000 syscall events at
#                 the default snaplen) and 3 MiB of files
#      each with compression none and zstd (level BENCH_ZSTD_LEVEL), BENCH_ROUNDS
#      rounds, order alternating per round; median and range.
#   2. `blackbox events` vs `sysdig -r` on one ~1 GB capture: a recorded
#      container running `bbload openread N` (default snaplen and ring, live
#      rules off), its archive exported with `blackbox export --scap` and
#      decoded (gzip) into a plain SCAP file; then, per round
#      (BENCH_EVENTS_ROUNDS), both tools on that file with their default line
#      output to /dev/null, and with `-p %evt.num evt.type=openat` to a file
#      (the two outputs must be identical); tool order alternating per round;
#      then, untimed, the default outputs' line counts of both.
#      The seal of that container is reported too.
#
# It prints markdown tables on stdout (progress goes to stderr). It is a
# benchmark, not a test: it never runs as part of `cargo test`.
#
# Usage (as root): bash scripts/bench-archive.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=3            rounds of part 1
#   BENCH_EVENTS_ROUNDS=3     rounds of part 2
#   BENCH_FILES_MB=50         MiB of files the big container writes
#   BENCH_RING=               ring buffer bytes of the typical containers
#                             (blackbox.io/ring-buffer-bytes; default: the node's, 8 MiB)
#   BENCH_BIG_RING=268435456  ring buffer bytes of the big containers (empty: the
#                             node's 8 MiB, which loses about half of the 64 KiB records)
#   BENCH_EVENTS_BYTES=1000000000  size of the (uncompressed) capture of part 2
#   BENCH_EVENTS_ITER=6000000 openread iterations of its container (6 events each);
#                             if the capture is under 80 % of BENCH_EVENTS_BYTES the
#                             container is run once more with the count scaled up
#   BENCH_EVENTS_RING=        its ring buffer (default: the node's 8 MiB; the unpaced
#                             loop outruns the reader and records are lost, which only
#                             makes drop events part of the capture)
#   BENCH_ZSTD_LEVEL=3        zstd level of the zstd rounds (the node default)
#   BENCH_RULES=1             live rules on (the upstream Falco rules, as
#                             `blackbox install` sets up); 0: off
#   BENCH_SKIP_EVENTS=        1: part 1 only
#   BENCH_SHIM=PATH           measure this shim binary instead of building one
#   BENCH_CLI=PATH            use this blackbox CLI instead of building one
#   BENCH_RUNC=PATH           runc binary (default /usr/sbin/runc)
#   BENCH_OUT=DIR             also keep the raw samples, the tables and containerd's log
#
# Everything it starts lives under one temp dir, one containerd namespace and
# one bpffs pin root (/sys/fs/bpf/bench-archive-<pid>), and is removed on
# exit, also on failure; the run fails if anything is left.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name="bench-archive"
rounds=${BENCH_ROUNDS:-3}
ev_rounds=${BENCH_EVENTS_ROUNDS:-3}
files_mb=${BENCH_FILES_MB:-50}
ring=${BENCH_RING:-}
big_ring=${BENCH_BIG_RING-268435456}
ev_bytes=${BENCH_EVENTS_BYTES:-1000000000}
ev_iter=${BENCH_EVENTS_ITER:-6000000}
ev_ring=${BENCH_EVENTS_RING:-}
zstd_level=${BENCH_ZSTD_LEVEL:-3}
rules=${BENCH_RULES:-1}
skip_events=${BENCH_SKIP_EVENTS:-}
runc=${BENCH_RUNC:-/usr/sbin/runc}
out=${BENCH_OUT:-}
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"
# shellcheck source=scripts/oci-image.sh
source "$repo/scripts/oci-image.sh"

bench_require gcc bpftool jq zstd sysdig tar dpkg /usr/bin/time
for n in "$rounds" "$ev_rounds" "$files_mb" "$ev_iter" "$zstd_level"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS, BENCH_EVENTS_ROUNDS, BENCH_FILES_MB, BENCH_EVENTS_ITER, BENCH_ZSTD_LEVEL: positive numbers"
done
for n in "$ring" "$ev_ring" "$big_ring"; do
    [[ -z $n || $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_RING, BENCH_BIG_RING, BENCH_EVENTS_RING: a number of bytes"
done

started=$EPOCHREALTIME
log "disk space:"
df -h /tmp /var >&2
avail=$(df --output=avail -B1 /tmp | tail -n 1)
need=$((4 << 30))
[[ -n $skip_events ]] && need=$((1 << 30))
# The shim stops copying file contents below 1 GiB free (min_free_bytes).
((avail > need + (1 << 30))) || die "less than $(((need >> 30) + 1)) GiB free under /tmp"

bench_build_shim
if [[ -n ${BENCH_CLI:-} ]]; then
    cli_src=$BENCH_CLI
else
    log "building the CLI (release)"
    (cd "$repo" && cargo build --release -p blackbox-cli) >&2
    cli_src=${CARGO_TARGET_DIR:-$repo/target}/release/blackbox
fi
[[ -x $cli_src ]] || die "no blackbox CLI at $cli_src"
bench_world_create
cp "$cli_src" "$tmp/bin/blackbox"
bb=$tmp/bin/blackbox

# --- the recorder's pins ------------------------------------------------------------------
pin_root=/sys/fs/bpf/$ns
prog_ids=()
poll_pid=
bench_cleanup_hook() {
    local d id
    [[ -n $poll_pid ]] && kill "$poll_pid" 2>/dev/null
    for d in "$pin_root"/v*; do
        [[ -d $d ]] || continue
        id=$(bpftool prog show pinned "$d/prog_bb_sys_enter" 2>/dev/null | awk -F: 'NR == 1 { print $1 }')
        [[ -n $id ]] && prog_ids+=("$id")
    done
    rm -rf "$pin_root"
    exec 9>&- 2>/dev/null || true
}
bench_leftovers_hook() {
    local id i gone
    [[ -e $pin_root ]] && echo "pins under $pin_root"
    for id in "${prog_ids[@]}"; do
        gone=
        for ((i = 0; i < 50; i++)); do
            bpftool prog show id "$id" >/dev/null 2>&1 || { gone=1; break; }
            sleep 0.1
        done
        [[ -n $gone ]] || echo "BPF program $id still loaded"
    done
}

# The node config, rewritten before each container (every `ctr run` starts a
# shim of its own, which reads it once).
node_config() { # ARCHIVES_DIR COMPRESSION
    cat >"$tmp/node.toml" <<EOF
[recording]
work_dir = "$tmp/work"
bpf_pin_root = "$pin_root"

[archive]
archives_dir = "$1"
node_key = "$tmp/node.key"
compression = "$2"
zstd_level = $zstd_level

[rules]
enabled = $([[ $rules_now == 1 ]] && echo true || echo false)
files = ["$repo/rules/upstream/falco_rules.yaml"]

[alerts]
log_path = "$tmp/alerts.jsonl"
EOF
}
rules_now=$rules
node_config "$tmp/archives" none

# --- the image: busybox, bbload, a text seed, the workload scripts --------------------------
log "building bench/bbload.c (static) and the image"
gcc -static -O2 -pthread -Wall -Wextra -o "$rootfs/bin/bbload" "$repo/bench/bbload.c"
mkdir -p "$rootfs/data"
chmod 1777 "$rootfs/tmp"
# 1 MiB of log-like text (compresses like logs do, not like zeros).
awk 'BEGIN { srand(4); for (i = 0; i < 20000; i++)
        printf "2026-12-02T02:%02d:%02d.%06dZ INFO handler request_id=%08x path=/api/v1/items/%d status=%d bytes=%d\n",
            i % 60, int(i / 60) % 60, int(rand() * 1e6), int(rand() * 2^31), int(rand() * 5000),
            rand() < 0.95 ? 200 : 404, int(rand() * 30000) }' >"$rootfs/seed.txt"
truncate -s 1048576 "$rootfs/seed.txt"
[[ $(stat -c %s "$rootfs/seed.txt") -eq 1048576 ]] || die "seed.txt is not 1 MiB"
cat >"$rootfs/big.sh" <<'EOF'
#!/bin/sh
# $1 MiB of files: half copies of a 1 MiB text file, half random, 64 KiB per read and write.
n=$1
half=$((n / 2))
i=0
while [ $i -lt $half ]; do dd if=/seed.txt of=/data/text$i bs=65536 2>/dev/null || exit 1; i=$((i + 1)); done
i=0
while [ $i -lt $((n - half)) ]; do dd if=/dev/urandom of=/data/rand$i bs=65536 count=16 2>/dev/null || exit 1; i=$((i + 1)); done
EOF
cat >"$rootfs/typical.sh" <<'EOF'
#!/bin/sh
# A short-lived job: some syscall-heavy work, a few commands, 3 MiB of files.
BBLOAD_DIR=/tmp bbload openread 10000 >/dev/null || exit 1
ls -lR /bin >/dev/null
cat /etc/passwd /etc/group >/data/users
dd if=/seed.txt of=/data/app.log bs=4096 2>/dev/null
dd if=/seed.txt of=/data/app.log.1 bs=4096 2>/dev/null
dd if=/dev/urandom of=/data/cache.bin bs=4096 count=256 2>/dev/null
sync
EOF
chmod +x "$rootfs/big.sh" "$rootfs/typical.sh"

image=bench.local/archive:1
oci_image_tar "$rootfs" "$image" "$tmp/image.tar"

bench_containerd_start BLACKBOX_CONFIG="$tmp/node.toml"
ctr_ns images import "$tmp/image.tar" >/dev/null
rm -f "$tmp/image.tar"

# A sleep without a fork: read with a timeout on a FIFO nobody writes.
mkfifo "$tmp/never"
exec 9<>"$tmp/never"
nap() { read -r -t "$1" -u 9 _ || true; }

to_epoch() { date -u -d "$1" +%s.%N; }

# The shim's log line for container ID containing TEXT (waits for it).
shim_line() {
    local id=$1 text=$2 i line=
    for ((i = 0; i < 300; i++)); do
        line=$(grep -F "$text" "$tmp/containerd.log" | grep -F "namespace=$ns" | grep -F "container=$id" | tail -n 1 || true)
        [[ -n $line ]] && break
        nap 0.1
    done
    [[ -n $line ]] || die "no '$text' line for $id in containerd's log"
    echo "$line"
}
line_time() { sed -n 's/^time="\{0,1\}\([^" ]*\)"\{0,1\} .*/\1/p' <<<"$1"; }
# Rust's Debug of a Duration ("1.234s", "850.2ms", "12.5µs") in seconds.
duration_s() {
    awk '{ v = $0; if (v ~ /ms$/) { sub(/ms$/, "", v); print v / 1e3 }
        else if (v ~ /µs$/ || v ~ /us$/) { sub(/(µs|us)$/, "", v); print v / 1e6 }
        else if (v ~ /ns$/) { sub(/ns$/, "", v); print v / 1e9 }
        else { sub(/s$/, "", v); print v + 0 } }' <<<"$1"
}

seals=$tmp/seals.tsv
: >"$seals"
last_archive=

# Runs one recorded container and measures its seal; appends a row to $seals.
# seal_run LABEL ROUND COMPRESSION ID [ANNOTATION...] -- CMD...
seal_run() {
    local label=$1 round=$2 comp=$3 id=$4 adir flags t_ctr0 t_ctr1 found
    shift 4
    read -ra flags <<<"$(runtime_flags blackbox)"
    while [[ $1 != -- ]]; do flags+=(--annotation "$1"); shift; done
    shift
    ids+=("$id")
    adir=$tmp/archives/$id
    mkdir -p "$adir"
    node_config "$adir" "$comp"
    # The poller: the first file with a final name (.tar / .tar.zst, not hidden) and when.
    (
        shopt -s nullglob
        while :; do
            for f in "$adir"/*/*/*.tar "$adir"/*/*/*.tar.zst; do
                printf '%s\t%s\n' "$EPOCHREALTIME" "$f" >"$tmp/found.$id"
                exit 0
            done
            read -r -t 0.01 -u 9 _ || true
        done
    ) &
    poll_pid=$!
    t_ctr0=$EPOCHREALTIME
    if ! ctr_ns run --rm --fifo-dir "$tmp/fifo" --cgroup "/$ns/$id" "${flags[@]}" \
        "$image" "$id" "$@" </dev/null >"$tmp/out.$id" 2>&1; then
        kill "$poll_pid" 2>/dev/null
        cat "$tmp/out.$id" >&2
        die "container $id failed"
    fi
    t_ctr1=$EPOCHREALTIME
    found=
    for ((i = 0; i < 1200; i++)); do
        [[ -s $tmp/found.$id ]] && { found=1; break; }
        nap 0.1
    done
    [[ -n $found ]] || { kill "$poll_pid" 2>/dev/null; die "no archive for $id within 120 s of ctr returning"; }
    wait "$poll_pid" || true
    poll_pid=
    local t_found archive info closed sealed d_seal t_closed t_sealed t_exit
    IFS=$'\t' read -r t_found archive <"$tmp/found.$id"
    # The shim logs "sealed" after the rename; wait for it before reading.
    sealed=$(shim_line "$id" "sealed ")
    closed=$(shim_line "$id" "capture closed")
    info=$("$bb" info --json "$archive")
    [[ $(jq -r .intact <<<"$info") == true ]] || die "archive of $id is not intact"
    t_exit=$(to_epoch "$(jq -r .metadata.exited_at <<<"$info")")
    t_closed=$(to_epoch "$(line_time "$closed")")
    t_sealed=$(to_epoch "$(line_time "$sealed")")
    d_seal=$(duration_s "$(sed -n 's/.* members) in \([^" ]*\).*/\1/p' <<<"$sealed")")
    # The capture member is gzip (one member per flush): its decoded size, what sysdig reads.
    local plain
    if [[ $comp == zstd ]]; then
        plain=$(zstd -dc "$archive" | tar -xOf - capture.scap | gzip -dc | wc -c)
    else
        plain=$(tar -xOf "$archive" capture.scap | gzip -dc | wc -c)
    fi
    # label round comp archive_bytes capture_bytes(gzip) fs_content_bytes events lost
    # exit→closed closed→sealed-log seal() exit→archive ctr_wall capture_bytes(decoded)
    jq -r --arg lb "$label" --arg round "$round" --arg comp "$comp" \
        --arg t_exit "$t_exit" --arg t_closed "$t_closed" --arg t_sealed "$t_sealed" \
        --arg t_found "$t_found" --arg d_seal "$d_seal" --arg t0 "$t_ctr0" --arg t1 "$t_ctr1" --arg plain "$plain" '
        def num: tonumber;
        [ $lb, $round, $comp, .file_size,
          ([.members[] | select(.name == "capture.scap") | .size] | add // 0),
          ([.members[] | select(.name | startswith("fs/")) | .size] | add // 0),
          (.metadata.drops.events_written // 0),
          ((.metadata.drops.ringbuf_full // 0) + (.metadata.drops.no_ring // 0) + (.metadata.drops.scratch_overflow // 0)),
          (($t_closed|num) - ($t_exit|num)), (($t_sealed|num) - ($t_closed|num)), ($d_seal|num),
          (($t_found|num) - ($t_exit|num)), (($t1|num) - ($t0|num)), ($plain|num) ] | @tsv' <<<"$info" >>"$seals"
    log "$label/$comp round $round: $(tail -n 1 "$seals" | cut -f4-)"
    # The live rules' cost in the shim: the rules thread's CPU time per event evaluated.
    jq -r '.metadata.drops | select(.rules_events != null and .rules_events > 0)
        | "live rules: \(.rules_events) events evaluated, \(.rules_alerts) alerts, \(.rules_behind) skipped, \(.rules_cpu_ns // 0) ns CPU, \(((.rules_cpu_ns // 0) / .rules_events) | floor) ns per event"' \
        <<<"$info" | while read -r l; do log "$label/$comp round $round: $l"; done
    last_archive=$archive
    # Keep the pins' program id for the leftover check.
    local p
    p=$(bpftool prog show pinned "$pin_root"/v*/prog_bb_sys_enter 2>/dev/null | awk -F: 'NR == 1 { print $1 }')
    if [[ -n $p && " ${prog_ids[*]} " != *" $p "* ]]; then prog_ids+=("$p"); fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ring_ann=()
[[ -n $ring ]] && ring_ann=("blackbox.io/ring-buffer-bytes=$ring")
big_ann=()
[[ -n $big_ring ]] && big_ann=("blackbox.io/ring-buffer-bytes=$big_ring")

# --- 1. seal --------------------------------------------------------------------------------
log "part 1: $rounds rounds of {big ($files_mb MiB files, snaplen 65535), typical} x {none, zstd-$zstd_level}"
seal_run warmup 0 none warm-0 "${ring_ann[@]}" -- /typical.sh
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then comps=(none zstd); else comps=(zstd none); fi
    for comp in "${comps[@]}"; do
        seal_run big "$r" "$comp" "big-$comp-$r" blackbox.io/snaplen=65535 "${big_ann[@]}" -- /big.sh "$files_mb"
        rm -rf "${tmp:?}/archives/big-$comp-$r"
        seal_run typical "$r" "$comp" "typ-$comp-$r" "${ring_ann[@]}" -- /typical.sh
        rm -rf "${tmp:?}/archives/typ-$comp-$r"
    done
    log "round $r/$rounds done"
done

# --- 2. events vs sysdig -r -------------------------------------------------------------------
evtab=$tmp/events.tsv # round tool query seconds user sys maxrss_kb
: >"$evtab"
scap=
filter_ok=
if [[ -z $skip_events ]]; then
    log "part 2: recording the ~1 GB capture (bbload openread $ev_iter, ring ${ev_ring:-node default})"
    # Live rules off for this one: its alerts are not what is measured here. An unpaced
    # openread loop outruns the reader on a busy 2-CPU machine, rules or not: records
    # are lost (counted, and drop events in the capture); the count is scaled for that.
    rules_now=0
    ev_ann=()
    [[ -n $ev_ring ]] && ev_ann=("blackbox.io/ring-buffer-bytes=$ev_ring")
    scap=$tmp/capture.scap
    for try in 1 2; do
        seal_run 1gb-capture "$try" none "ev-$try" "${ev_ann[@]}" -- \
            /bin/sh -c "BBLOAD_DIR=/tmp exec bbload openread $ev_iter"
        rm -f "$scap" "$scap.gz"
        # The exported capture is gzip, as recorded; both tools read it decoded.
        "$bb" export "$last_archive" --scap "$scap.gz" >&2
        rm -rf "${tmp:?}/archives/ev-$try"
        gzip -dc "$scap.gz" >"$scap"
        scap_gz_bytes=$(stat -c %s "$scap.gz")
        rm -f "$scap.gz"
        scap_bytes=$(stat -c %s "$scap")
        scap_events=$(awk -F'\t' -v t="$try" '$1 == "1gb-capture" && $2 == t { print $7 }' "$seals")
        scap_lost=$(awk -F'\t' -v t="$try" '$1 == "1gb-capture" && $2 == t { print $8 }' "$seals")
        log "capture: $scap_bytes bytes ($scap_gz_bytes gzip), $scap_events events, $scap_lost records lost, from $ev_iter iterations"
        ((scap_bytes * 5 >= ev_bytes * 4)) && break
        ((try == 2)) && die "the capture is still under 80 % of $ev_bytes bytes"
        ev_iter=$(awk -v i="$ev_iter" -v b="$scap_bytes" -v t="$ev_bytes" 'BEGIN { printf "%d", i * t / b * 1.1 }')
        log "too small: once more with $ev_iter iterations"
        awk -F'\t' '!($1 == "1gb-capture" && $2 == 1)' "$seals" >"$seals.new" && mv "$seals.new" "$seals"
    done

    timed() { # ROUND TOOL QUERY OUTFILE CMD...
        local round=$1 tool=$2 query=$3 outf=$4
        shift 4
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/time.out" "$@" >"$outf" 2>>"$tmp/tools.err" ||
            die "$tool ($query) failed: $(tail -n 5 "$tmp/tools.err")"
        printf '%s\t%s\t%s\t%s\n' "$round" "$tool" "$query" "$(tr ' ' '\t' <"$tmp/time.out")" >>"$evtab"
        log "$tool $query round $round: $(cat "$tmp/time.out") (s, user, sys, max RSS KiB)"
    }
    filter=(-p %evt.num evt.type=openat)
    filter_ok=yes
    for ((r = 1; r <= ev_rounds; r++)); do
        if ((r % 2)); then tools=(blackbox sysdig); else tools=(sysdig blackbox); fi
        for tool in "${tools[@]}"; do
            if [[ $tool == blackbox ]]; then cmd=("$bb" events "$scap"); else cmd=(sysdig -r "$scap"); fi
            timed "$r" "$tool" lines /dev/null "${cmd[@]}"
        done
        for tool in "${tools[@]}"; do
            if [[ $tool == blackbox ]]; then cmd=("$bb" events "$scap"); else cmd=(sysdig -r "$scap"); fi
            timed "$r" "$tool" filter "$tmp/filter.$tool" "${cmd[@]}" "${filter[@]}"
        done
        n_bb=$(wc -l <"$tmp/filter.blackbox")
        n_sd=$(wc -l <"$tmp/filter.sysdig")
        if cmp -s "$tmp/filter.blackbox" "$tmp/filter.sysdig"; then same=identical; else same=DIFFERENT; filter_ok=; fi
        log "round $r/$ev_rounds: filter lines blackbox $n_bb, sysdig $n_sd ($same)"
        rm -f "$tmp/filter.blackbox" "$tmp/filter.sysdig"
    done
    # Untimed: the default outputs' line counts (the text differs: blackbox leaves out
    # sysdig's parenthesised annotations; the number of lines should not).
    log "counting the default output lines of both tools (untimed)"
    lines_bb=$("$bb" events "$scap" | wc -l)
    lines_sd=$(sysdig -r "$scap" 2>>"$tmp/tools.err" | wc -l)
    log "default lines: blackbox $lines_bb, sysdig $lines_sd"
fi
elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# --- report ------------------------------------------------------------------------------------
# median and [min–max] of column C of the rows of $seals matching LABEL and COMP, scaled by S.
stat_of() { # LABEL COMP COLUMN SCALE FORMAT
    awk -F'\t' -v l="$1" -v c="$2" -v col="$3" -v s="$4" -v fmt="$5" '
        $1 == l && $3 == c { v[++n] = $col / s }
        END {
            if (!n) { print "–"; exit }
            for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
            m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            if (n == 1) printf fmt, m
            else printf fmt " [" fmt "–" fmt "]", m, v[1], v[n]
        }' "$seals"
}

report() {
    local label comp n
    echo "### Archive sealing"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), containerd $(containerd --version | awk '{ print $3 }'), runc $("$runc" --version | awk 'NR == 1 { print $3 }'), sysdig $(sysdig --version | awk '{ print $3 }'); load average before: $load_before; run took ${elapsed} s"
    echo
    echo "blackbox shim: $shim_desc; CLI: $cli_src; live rules: $([[ $rules == 1 ]] && echo "on (upstream Falco rules)" || echo off); ring: ${ring:-node default, 8 MiB}"
    echo
    echo "Seal: $rounds rounds (median [min–max]); MB = 10^6 bytes. big = \`big.sh $files_mb\` under \`blackbox.io/snaplen=65535\`, ring ${big_ring:-of the node, 8 MiB}; typical = \`bbload openread 10000\`, a few commands, 3 MiB of files."
    echo "exit → archive: the metadata's exit time to the archive appearing under its final name (polled every 10 ms)."
    echo
    echo "| container | compression | capture, decoded (MB) | capture, gzip (MB) | file contents (MB) | events | records lost | archive (MB) | exit → capture closed (s) | capture closed → \"sealed\" logged (s) | seal() alone, shim log (s) | **exit → archive complete (s)** | \`ctr run --rm\` wall (s) |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for label in big typical 1gb-capture; do
        for comp in none zstd; do
            n=$(awk -F'\t' -v l="$label" -v c="$comp" '$1 == l && $3 == c' "$seals" | wc -l)
            ((n)) || continue
            printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %s |\n' "$label" \
                "$([[ $comp == zstd ]] && echo "zstd-$zstd_level" || echo none)" \
                "$(stat_of "$label" "$comp" 14 1e6 %.1f)" "$(stat_of "$label" "$comp" 5 1e6 %.1f)" "$(stat_of "$label" "$comp" 6 1e6 %.1f)" \
                "$(stat_of "$label" "$comp" 7 1 %d)" "$(stat_of "$label" "$comp" 8 1 %d)" \
                "$(stat_of "$label" "$comp" 4 1e6 %.1f)" "$(stat_of "$label" "$comp" 9 1 %.2f)" \
                "$(stat_of "$label" "$comp" 10 1 %.2f)" "$(stat_of "$label" "$comp" 11 1 %.2f)" \
                "$(stat_of "$label" "$comp" 12 1 %.2f)" "$(stat_of "$label" "$comp" 13 1 %.2f)"
        done
    done
    [[ -n $skip_events ]] && return
    echo
    echo "\`blackbox events\` vs \`sysdig -r\` on the same plain SCAP file ($(awk -v b="$scap_bytes" -v g="$scap_gz_bytes" 'BEGIN { printf "%.2f GB; %.0f MB as recorded, gzip", b / 1e9, g / 1e6 }'), $scap_events events, $scap_lost records lost while recording; \`blackbox export\` of the 1gb-capture archive, decoded), $ev_rounds rounds, tool order alternating; median [min–max]."
    echo "Default lines (counted in an extra, untimed run): blackbox $lines_bb, sysdig $lines_sd."
    echo "filter = \`-p %evt.num evt.type=openat\` (output to a file); the two tools' filter outputs were $([[ -n $filter_ok ]] && echo "byte-identical in every round" || echo "DIFFERENT in at least one round") ($n_bb lines)."
    echo
    echo "| query | blackbox events (s) | sysdig -r (s) | blackbox / sysdig: median of per-round ratios [min–max] | blackbox events/s | sysdig events/s | blackbox CPU user+sys (s) | sysdig CPU (s) | blackbox max RSS (MiB) | sysdig max RSS (MiB) |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for q in lines filter; do
        awk -F'\t' -v q="$q" -v ev="$scap_events" '
            function med(a, n,    i, j, x) {
                for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
                return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            function rng(a, n, fmt) { return n > 1 ? sprintf(" [" fmt "–" fmt "]", a[1], a[n]) : "" }
            $3 == q { t[$2, $1] = $4; cpu[$2, $1] = $5 + $6; rss[$2, $1] = $7; rounds[$1] = 1 }
            END {
                for (r in rounds) {
                    n++; b[n] = t["blackbox", r]; s[n] = t["sysdig", r]; ra[n] = b[n] / s[n]
                    bc[n] = cpu["blackbox", r]; sc[n] = cpu["sysdig", r]; br[n] = rss["blackbox", r] / 1024; sr[n] = rss["sysdig", r] / 1024
                }
                mb = med(b, n); ms = med(s, n); mr = med(ra, n)
                printf "| %s | %.1f%s | %.1f%s | **%.2f×**%s | %.0f | %.0f | %.1f | %.1f | %.0f | %.0f |\n",
                    q == "lines" ? "default lines, to /dev/null" : "filter `evt.type=openat`, `-p %evt.num`",
                    mb, rng(b, n, "%.1f"), ms, rng(s, n, "%.1f"), mr, rng(ra, n, "%.2f×"),
                    ev / mb, ev / ms, med(bc, n), med(sc, n), med(br, n), med(sr, n)
            }' "$evtab"
    done
}

report_file=$tmp/report.md
report >"$report_file"
cat "$report_file"
if [[ -n $out ]]; then
    mkdir -p "$out"
    cp "$seals" "$evtab" "$tmp/containerd.log" "$report_file" "$out/" 2>/dev/null || true
    log "raw samples and the tables kept in $out"
fi
log "done in ${elapsed} s"
