#!/usr/bin/env bash
# One set-up for a fresh machine, shared by `npm run demo` and `npm test`:
# system packages (when root and missing), pnpm, JS dependencies, the native build,
# the TypeScript build, and hugepages (reserved and mounted when root and none are free).
# Safe to re-run: every step checks before it acts. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
HUGEPAGES_WANTED=512 # 2 MiB pages: 1 GiB, enough for the demo, the tests and testpmd side by side
APT_PACKAGES=(dpdk dpdk-dev dpdk-doc make libdpdk-dev libpcap-dev libclang-dev clang pkg-config iproute2 ethtool iputils-ping iperf3 tcpdump tshark chromium)
# Installed when root like the rest, but not required: without it the browser test skips, saying so.
APT_OPTIONAL=(chromium)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# 1. System packages: DPDK 22.11 with its pkg-config file, libclang for bindgen, libpcap for capture
# filters (pcap_compile), tools for traffic tests, tcpdump and tshark (the capture test reads its
# pcapng with them and filters the same pcap with libpcap), chromium for the dashboard's browser test
# (test/serve-dashboard.test.ts).
# One dpkg-query for all: a package it does not know is missing too.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null | awk '/ install ok installed$/ { print $1 }' || true)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  grep -qx "$pkg" <<<"$installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if is_root && command -v apt-get >/dev/null; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  else
    required=()
    for pkg in "${missing[@]}"; do
      if [[ " ${APT_OPTIONAL[*]} " == *" $pkg "* ]]; then say "$pkg is not installed: its tests will skip (as root: apt-get install $pkg)"; else required+=("$pkg"); fi
    done
    [ ${#required[@]} -eq 0 ] || die "missing system packages: ${required[*]}. Install them as root: apt-get install ${required[*]}"
  fi
fi
pkg-config --exists 'libdpdk >= 22.11' || die "pkg-config finds no libdpdk >= 22.11; install libdpdk-dev"
command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) and re-run"

# 2. pnpm, pinned by packageManager (corepack is not used: it rejects this registry's signatures),
# looked for only when something needs it: a set-up checkout re-runs in about a second.
PNPM=()
pnpm_cmd() {
  [ ${#PNPM[@]} -gt 0 ] && return
  if [ "$(pnpm --version 2>/dev/null || true)" = "$PNPM_VERSION" ]; then
    PNPM=(pnpm)
  elif npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    say "installed pnpm $PNPM_VERSION"
    PNPM=(pnpm)
  else
    say "cannot install pnpm globally; using npx pnpm@$PNPM_VERSION"
    PNPM=(npx --yes "pnpm@$PNPM_VERSION")
  fi
}

# 3. JS dependencies, exactly as locked: installed unless the last install was of this very
# lockfile (pnpm keeps a copy of it in node_modules/.pnpm) and no workspace manifest changed since.
manifests=(package.json pnpm-workspace.yaml packages/*/package.json examples/package.json test/package.json bench/package.json)
if cmp -s pnpm-lock.yaml node_modules/.pnpm/lock.yaml && [ -z "$(find "${manifests[@]}" -newer node_modules/.modules.yaml -print -quit 2>/dev/null)" ]; then
  say "JS dependencies are up to date"
else
  say "installing JS dependencies"
  pnpm_cmd
  "${PNPM[@]}" install --frozen-lockfile --reporter=silent >&2
fi

# 4. The native binding, then TypeScript. napi's build is never a no-op (it hands cargo a fresh
# NAPI_TYPE_DEF_TMP_FOLDER each time, so the binding crate recompiles: ~8 s on every
# `npm run demo`): it runs only when a Rust source or manifest changed since the stamp taken as
# the last build here began (taken before, so an edit made during a build counts as a change).
binding=packages/control/native/fastpath.linux-x64-gnu.node
stamp=target/.setup-native-build-started
if [ -f "$binding" ] && [ -f "$stamp" ] && [ -z "$(find crates Cargo.toml Cargo.lock .cargo -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  say "the native binding is up to date"
else
  say "building the native binding (the first build takes a few minutes)"
  mkdir -p target && : > "$stamp.next"
  pnpm_cmd
  "${PNPM[@]}" --filter @fastpath/control run build:native >&2
  mv "$stamp.next" "$stamp"
fi
say "building the TypeScript packages"
node_modules/.bin/tsc -b packages/types packages/control >&2

# 5. Hugepages: reserve and mount when root and none are free; otherwise say what happens.
hp=/sys/kernel/mm/hugepages/hugepages-2048kB
free_pages=$(cat "$hp/free_hugepages" 2>/dev/null || echo 0)
if is_root && [ -d "$hp" ]; then
  if [ "$free_pages" -lt 256 ]; then
    total=$(cat "$hp/nr_hugepages")
    echo $((total + HUGEPAGES_WANTED - free_pages)) > "$hp/nr_hugepages" 2>/dev/null || true
    free_pages=$(cat "$hp/free_hugepages")
    say "reserved 2 MiB hugepages: $free_pages free"
  fi
  if ! grep -q '^[^ ]* [^ ]* hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages && say "mounted hugetlbfs on /dev/hugepages" || true
  fi
fi
if [ "$free_pages" -lt 64 ] || ! grep -q '^[^ ]* [^ ]* hugetlbfs ' /proc/mounts; then
  if is_root; then
    say "no usable hugepages on this machine: Fastpath runs without them (--no-huge, IOVA as VA)"
  else
    say "not root, so hugepages cannot be reserved here: Fastpath runs without them (--no-huge, IOVA as VA)"
  fi
fi
say "ready"
