#!/usr/bin/env bash
# The blackbox demo, end to end, on a fresh Debian 12 machine (as root):
# installs what it needs, builds blackbox, installs the blackbox runtime
# into a private containerd's config with `blackbox install`, starts that
# containerd, runs a container that does something suspicious through the
# blackbox shim next to the same container under runc's shim, and shows
# what happened. Nothing here touches the machine's own containerd.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$(pwd)

bash scripts/deps.sh
source scripts/oci-image.sh
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it starts containerd and runc)" >&2; exit 1; }

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "building blackbox (the shim size-optimised, the CLI for speed)"
cargo build --profile shim -p blackbox-shim
cargo build --release -p blackbox-cli

WORK=$(mktemp -d /tmp/blackbox-demo.XXXXXX)
CTRD_PID=""
cleanup() {
  set +e
  if [[ -S "$WORK/containerd.sock" ]]; then
    for t in $(ctr --address "$WORK/containerd.sock" -n demo task ls -q 2>/dev/null); do
      ctr --address "$WORK/containerd.sock" -n demo task kill -s KILL "$t" >/dev/null 2>&1
    done
    sleep 1
    for c in $(ctr --address "$WORK/containerd.sock" -n demo containers ls -q 2>/dev/null); do
      ctr --address "$WORK/containerd.sock" -n demo task rm -f "$c" >/dev/null 2>&1
      ctr --address "$WORK/containerd.sock" -n demo containers rm "$c" >/dev/null 2>&1
    done
  fi
  [[ -n "$CTRD_PID" ]] && kill "$CTRD_PID" 2>/dev/null && wait "$CTRD_PID" 2>/dev/null
  grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  [[ -n "${PIN_ROOT:-}" ]] && rm -rf "$PIN_ROOT"
}
trap cleanup EXIT

say "a private containerd config, and 'blackbox install' adding the blackbox runtime to it"
mkdir -p "$WORK/etc" "$WORK/bin" "$WORK/dist"
# What a release tarball holds: both binaries side by side.
BIN="$WORK/dist"
cp "$ROOT_DIR/target/shim/containerd-shim-blackbox-v2" "$ROOT_DIR/target/release/blackbox" "$BIN/"
cat > "$WORK/config.toml" <<TOML
# A private containerd for the blackbox demo.
version = 2
root = "$WORK/root"
state = "$WORK/state"

[grpc]
  address = "$WORK/containerd.sock"

[ttrpc]
  address = "$WORK/containerd.sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true

# runc's state stays in the demo's directory; 'blackbox install' copies the
# runc handler's options (this Root) into blackbox's runtime options file.
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  Root = "$WORK/runc"
TOML
"$BIN/blackbox" install --config "$WORK/config.toml" --blackbox-dir "$WORK/etc" \
  --bin-dir "$WORK/bin" --source-dir "$BIN"
echo "--- blackbox's runtime options, copied from the runc handler:"
grep -v '^#' "$WORK/etc/runtime.toml" | sed '/^$/d'
echo "--- the handler it added:"
sed -n '/runtimes.blackbox\]/,$p' "$WORK/config.toml"

# blackbox's node config for this demo: working directories, archives, eBPF pins, alert log
# of its own; the node key and the upstream Falco rules are the ones 'blackbox install' put in
# the demo's blackbox dir.
PIN_ROOT="/sys/fs/bpf/blackbox-demo-$$"
export BLACKBOX_CONFIG="$WORK/etc/config.toml"
cat > "$BLACKBOX_CONFIG" <<TOML
[recording]
work_dir = "$WORK/work"
bpf_pin_root = "$PIN_ROOT"

[archive]
archives_dir = "$WORK/archives"
node_key = "$WORK/etc/node.key"

[rules]
files = ["$WORK/etc/rules/falco_rules.yaml"]

[alerts]
log_path = "$WORK/alerts.jsonl"
TOML

say "starting containerd with that config"
PATH="$WORK/bin:$PATH" \
  containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 50); do
  ctr --address "$WORK/containerd.sock" version >/dev/null 2>&1 && break
  sleep 0.2
done
ctr --address "$WORK/containerd.sock" version | sed -n '/Server/,$p'

say "a busybox image, built locally as an OCI image layout and imported (no registry is reachable)"
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,root} "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$ROOTFS/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOTFS/etc/passwd"
echo 'root:$6$demo$notarealhash:19000:0:99999:7:::' >"$ROOTFS/etc/shadow"
chmod 0600 "$ROOTFS/etc/shadow"
IMAGE=demo.local/busybox:1
oci_image_tar "$ROOTFS" "$IMAGE" "$WORK/image.tar"
ctr --address "$WORK/containerd.sock" -n demo images import "$WORK/image.tar"

# What an intruder's first minute often looks like: read credentials, drop
# a script, make it executable, run it, talk to a remote port.
SUSPICIOUS='cat /etc/shadow > /tmp/loot
cat > /tmp/dropper.sh <<"SCRIPT"
#!/bin/sh
echo "dropper running as $(id -u) in $(pwd)"
nc -l -p 4444 -w 2 >/dev/null &
sleep 0.2
echo "exfil $(wc -c < /tmp/loot) bytes" | nc -w 1 127.0.0.1 4444
SCRIPT
chmod +x /tmp/dropper.sh
/tmp/dropper.sh
exit 3'

run_in() {
  local runtime=$1 id=$2
  shift 2
  ctr --address "$WORK/containerd.sock" -n demo run --rm --net-host \
    --runtime "$runtime" "$@" "$IMAGE" "$id" /bin/sh -c "$SUSPICIOUS"
}

say "the suspicious container under runc's shim (io.containerd.runc.v2)"
set +e
run_in io.containerd.runc.v2 demo-runc --runc-root "$WORK/runc"
RUNC_RC=$?
set -e
echo "exit code: $RUNC_RC"

say "the same container under blackbox (io.containerd.blackbox.v2)"
set +e
run_in io.containerd.blackbox.v2 demo-blackbox --runtime-config-path "$WORK/etc/runtime.toml"
BB_RC=$?
set -e
echo "exit code: $BB_RC"

say "what the blackbox shim logged (containerd's log, one line per event, container id on each)"
grep -F 'runtime=io.containerd.blackbox.v2' "$WORK/containerd.log" | sed 's/^/  /' | tail -n 12

say "the sealed archive (written when the container exited)"
"$BIN/blackbox" ls
ARCHIVE=$("$BIN/blackbox" ls --json | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | head -n 1)
[[ -n "$ARCHIVE" ]] || { echo "demo: no archive was sealed" >&2; exit 1; }
echo "--- its members (plain tar opens it):"
tar -tvf "$ARCHIVE" | sed 's/^/  /' | head -n 20
echo "--- blackbox verify (Ed25519 signature, every member's SHA-256):"
"$BIN/blackbox" verify "$ARCHIVE"
echo "--- blackbox info:"
"$BIN/blackbox" info "$ARCHIVE" | sed 's/^/  /'

say "the alerts the upstream Falco rules raised live, while the container ran"
tar -xOf "$ARCHIVE" alerts.jsonl | sed -n 's/.*"output":"\([^"]*\)".*/  \1/p' | cut -c1-200

say "what the flight recorder saw (blackbox events with a Falco filter, then Debian's sysdig on the exported capture)"
FILTER="evt.dir=< and (evt.type in (execve, connect, chmod, fchmodat, rename, unlink, unlinkat) or (evt.type in (open, openat) and fd.name in (/etc/shadow, /tmp/dropper.sh, /tmp/loot)))"
"$BIN/blackbox" events "$ARCHIVE" -p '*%evt.num %proc.exe %evt.type %fd.name %evt.args' "$FILTER" \
  | cut -c1-160 | sed 's/^/  /'
"$BIN/blackbox" export "$ARCHIVE" --scap "$WORK/capture.scap"
echo "--- sysdig -r on the exported capture, same filter:"
sysdig -r "$WORK/capture.scap" -p '*%evt.num %proc.exe %evt.type %fd.name %evt.args' "$FILTER" \
  | cut -c1-160 | sed 's/^/  /'

say "the files the container left behind (its overlay diff, rebuilt outside the archive)"
"$BIN/blackbox" extract "$ARCHIVE" --rootfs "$WORK/diff"
(cd "$WORK/diff" && find . -type f | sort | sed 's/^/  /')

say "result"
if [[ $RUNC_RC -eq $BB_RC ]]; then
  echo "same behaviour under both runtimes (exit $BB_RC)."
else
  echo "DIFFERENT exit codes: runc $RUNC_RC, blackbox $BB_RC" >&2
  exit 1
fi
echo "The container is gone; its evidence is in $ARCHIVE (kept until the demo cleans up)."
