#!/usr/bin/env bash
# Installs what building and testing blackbox needs on a fresh Debian 12
# machine: Debian packages through apt-get, the Rust toolchain through
# rustup if cargo is missing. Idempotent: packages already present are not
# fetched again, so a machine without network that has them still works.
set -euo pipefail

PACKAGES=(
  # containerd 1.6 and runc: the runtime we plug into, and runc's own shim
  # as the reference every behavioural test compares against.
  containerd runc
  # busybox-static: the locally built test and demo images (no registry).
  busybox-static
  # protoc: the CRI client's protobuf code is generated at build time.
  protobuf-compiler
  # Debian's CNI plugins, for pods that are not host-network.
  containernetworking-plugins
  # clang-19/llvm-19/bpftool/libbpf-dev: the eBPF recorder's C programs.
  clang-19 llvm-19 bpftool libbpf-dev libclang-19-dev
  # sysdig: the external oracle that reads our SCAP captures.
  sysdig
  # ip, mount helpers, process tools used by the tests.
  iproute2 procps util-linux
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "deps: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
    exit 1
  fi
fi

# The Debian package starts no daemon here (no systemd), but on a machine
# with systemd it may have started the system containerd: our tests never
# use it, they start their own on private sockets.
echo "deps: ok ($(containerd --version | awk '{print $3}'), $(runc --version | head -1), $(cargo --version))"
