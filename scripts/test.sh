#!/usr/bin/env bash
# Every suite CI runs, in order, stopping at the first failure. Run after scripts/setup.sh
# (`npm test` does both).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all --check

step "rooms: no Rust source file over 500 lines (a new stage or command is a new file)"
too_long=$(find crates -name '*.rs' -exec wc -l {} + | awk '$2 != "total" && $1 > 500')
if [ -n "$too_long" ]; then
  printf '%s\n' "$too_long" >&2
  echo "split these files: the crates keep a room per job, each under 500 lines" >&2
  exit 1
fi

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (unit tests, fixture-tree probes, and engines on real vdevs in child processes)"
cargo test --workspace --quiet

step "the committed binding.d.ts matches the native build"
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --exit-code -- packages/control/native/binding.d.ts; then
  echo "packages/control/native/binding.d.ts changed when the binding was rebuilt: commit the new file" >&2
  exit 1
fi

step "TypeScript type-check"
node_modules/.bin/tsc -b tsconfig.json

step "vitest (end-to-end: engines on real vdevs started from TypeScript)"
(cd test && node_modules/.bin/vitest run)
