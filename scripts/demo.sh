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

# blackbox's node config for this demo: captures and eBPF pins of its own.
PIN_ROOT="/sys/fs/bpf/blackbox-demo-$$"
cat > "$WORK/etc/config.toml" <<TOML
[recording]
work_dir = "$WORK/work"
bpf_pin_root = "$PIN_ROOT"
TOML

say "starting containerd with that config"
BLACKBOX_CONFIG="$WORK/etc/config.toml" PATH="$WORK/bin:$PATH" \
  containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 50); do
  ctr --address "$WORK/containerd.sock" version >/dev/null 2>&1 && break
  sleep 0.2
done
ctr --address "$WORK/containerd.sock" version | sed -n '/Server/,$p'

say "a busybox root filesystem, built locally (no registry is reachable)"
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,etc,tmp,proc,sys,dev,root}
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$ROOTFS/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOTFS/etc/passwd"
echo 'root:$6$demo$notarealhash:19000:0:99999:7:::' >"$ROOTFS/etc/shadow"
chmod 0600 "$ROOTFS/etc/shadow"

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
    --runtime "$runtime" "$@" --rootfs "$ROOTFS" "$id" /bin/sh -c "$SUSPICIOUS"
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

say "what the flight recorder saw (the capture, read by Debian's sysdig)"
CAPTURE="$WORK/work/demo/demo-blackbox/capture.scap"
ls -l "$CAPTURE"
sysdig -r "$CAPTURE" -p '*%evt.num %proc.exe %evt.type %fd.name %evt.args' \
  "evt.dir=< and (evt.type in (execve, connect, chmod, fchmodat, rename, unlink, unlinkat) or (evt.type in (open, openat) and fd.name in (/etc/shadow, /tmp/dropper.sh, /tmp/loot)))" \
  | cut -c1-160 | sed 's/^/  /'

say "result"
if [[ $RUNC_RC -eq $BB_RC ]]; then
  echo "same behaviour under both runtimes (exit $BB_RC)."
else
  echo "DIFFERENT exit codes: runc $RUNC_RC, blackbox $BB_RC" >&2
  exit 1
fi
echo "The capture above was written live by the shim; live Falco rules and the sealed, signed"
echo "evidence archive join this demo as they land; see README.md and docs/."
