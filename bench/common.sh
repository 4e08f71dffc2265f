# Shared by the benchmark scripts (sourced, never run): a private containerd
# under one temp dir and one namespace, both shims copied next to it, a
# busybox rootfs, and a cleanup that removes all of it and fails if anything
# is left. scripts/bench-shim.sh predates this file and keeps its own copy.
#
# The caller sets, before sourcing:
#   bench_name   short name for log lines, the temp dir and the namespace
#   repo         the repository root
#   runc         the runc binary both shims run
# and may define, after sourcing, hooks called by the cleanup:
#   bench_cleanup_hook     undo what the caller set up besides containers
#   bench_leftovers_hook   print one line per thing still left (fails the run)
#
# After bench_world_create: tmp, ns, sock, runc_root, rootfs, runc and the
# functions ctr_ns, runtime_flags, our_shims, bench_containerd_start.
# shellcheck shell=bash

: "${bench_name:?}" "${repo:?}" "${runc:?}"
export LC_ALL=C # EPOCHREALTIME and awk number formats

log() { echo "$bench_name: $*" >&2; }
die() {
    log "$*"
    exit 1
}

bench_cleanup_hook() { :; }
bench_leftovers_hook() { :; }

# Root, and the tools every benchmark needs.
bench_require() {
    local tool
    [[ $(id -u) -eq 0 ]] || die "must run as root (it starts containerd and containers)"
    for tool in containerd ctr containerd-shim-runc-v2 busybox sha256sum awk "$@"; do
        command -v "$tool" >/dev/null || die "$tool not found on PATH"
    done
    [[ -x $runc ]] || die "runc not found at $runc (set BENCH_RUNC)"
}

# Builds the shim (cargo profile "shim") unless BENCH_SHIM names a binary;
# sets shim_src and shim_desc.
bench_build_shim() {
    if [[ -n ${BENCH_SHIM:-} ]]; then
        shim_src=$BENCH_SHIM
        shim_desc="$shim_src (given as BENCH_SHIM)"
    else
        log "building the shim (cargo profile \"shim\": size-optimised release)"
        (cd "$repo" && cargo build --profile shim -p blackbox-shim) >&2
        shim_src=${CARGO_TARGET_DIR:-$repo/target}/shim/containerd-shim-blackbox-v2
        shim_desc="shim-profile build of $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
        if [[ -n $(git -C "$repo" status --porcelain -- shim config recorder recorder-ebpf capture scap Cargo.toml Cargo.lock 2>/dev/null) ]]; then
            shim_desc+=" with uncommitted changes"
        fi
    fi
    [[ -x $shim_src ]] || die "no shim binary at $shim_src"
    shim_desc+=", $(stat -c %s "$shim_src") bytes"
}

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

# Every container id used, to find the socket a killed shim left.
ids=()
containerd_pid=
tmp=

bench_cleanup() {
    local rc=$? id pid sum i d leftovers=0 left
    trap - EXIT INT TERM
    set +e
    [[ -n $tmp ]] || exit "$rc"
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
    bench_cleanup_hook
    [[ -n $(our_shims) ]] && { log "LEFT BEHIND: shim processes $(our_shims | tr '\n' ' ')"; leftovers=1; }
    [[ -n $(our_mounts) ]] && { log "LEFT BEHIND: mounts under $tmp"; leftovers=1; }
    for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
        [[ -d $d ]] && { log "LEFT BEHIND: cgroup $d"; leftovers=1; }
    done
    left=$(bench_leftovers_hook)
    [[ -n $left ]] && { log "LEFT BEHIND: $left"; leftovers=1; }
    if [[ $rc -ne 0 && -f $tmp/containerd.log ]]; then
        log "containerd log (last 20 lines):"
        tail -n 20 "$tmp/containerd.log" >&2
    fi
    rm -rf --one-file-system "$tmp"
    [[ -e $tmp ]] && { log "LEFT BEHIND: $tmp"; leftovers=1; }
    ((rc == 0 && leftovers)) && rc=1
    exit "$rc"
}

# The temp dir, namespace, binaries (copied: a rebuild elsewhere cannot swap
# one mid-run), the busybox rootfs and containerd's config. Installs the
# cleanup trap.
bench_world_create() {
    local applet
    tmp=$(mktemp -d "/tmp/blackbox-$bench_name.XXXXXX")
    ns=$bench_name-$$
    sock=$tmp/containerd.sock
    runc_root=$tmp/runc
    rootfs=$tmp/rootfs
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM

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

    cat >"$tmp/blackbox-runtime.toml" <<EOF
BinaryName = "$runc"
Root = "$runc_root"
SystemdCgroup = false
EOF
}

# ctr flags selecting runc's shim or ours, both running the same runc.
runtime_flags() {
    case $1 in
    runc) echo "--runtime io.containerd.runc.v2 --runc-binary $runc --runc-root $runc_root" ;;
    blackbox) echo "--runtime io.containerd.blackbox.v2 --runtime-config-path $tmp/blackbox-runtime.toml" ;;
    *) die "unknown runtime $1" ;;
    esac
}

# Starts the private containerd; extra environment (e.g. BLACKBOX_CONFIG=...)
# as arguments. The shims inherit it.
bench_containerd_start() {
    local i
    log "starting containerd in $tmp (namespace $ns)"
    env PATH="$tmp/bin:$PATH" "$@" containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
    containerd_pid=$!
    for ((i = 0; i < 100; i++)); do
        ctr --address "$sock" version >/dev/null 2>&1 && return 0
        kill -0 "$containerd_pid" 2>/dev/null || die "containerd exited"
        sleep 0.1
    done
    die "containerd did not answer within 10 s"
}
