#!/usr/bin/env bash
# Miri on the code under heaplab's unsafe core: undefined behaviour (Stacked
# Borrows by default) and data races in the Rust memory model.
#
#   scripts/miri.sh                                   the CI set, Stacked Borrows
#   MIRIFLAGS=-Zmiri-tree-borrows scripts/miri.sh     the same under Tree Borrows
#
# The set (agreed in issue 16), each group run even if one before it failed,
# so one run lists every finding:
#   alloc      the allocator's unit tests (cargo test --lib alloc::)
#   semantics  tests/semantics.rs under every policy: allocation, references,
#              the Ref drop and deferred-decref tests (allow_threads, a
#              panicking thread, a thread that never attached)
#   threads    tests/threads.rs: the multi-threaded tests, at two threads and
#              Miri-sized counts (the tests shrink under cfg(miri))
#
# Miri cannot follow the arena's partial munmap; under cfg(miri) the
# allocator maps arenas through a stand-in, so the pool and arena logic above
# it is still checked. Isolation stays on (no host clock, files or
# environment leak into a run), so a run is repeatable from its seed.
#
# Miri builds into target/miri (its own directory: no rebuild of, or by, the
# ordinary build). HEAPLAB_NIGHTLY names the toolchain (scripts/nightly.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain="${HEAPLAB_NIGHTLY:-nightly}"
export MIRIFLAGS="${MIRIFLAGS:-}"
echo "miri: $(cargo "+$toolchain" miri --version); MIRIFLAGS='$MIRIFLAGS'"

# With cargo-nextest (on our machines), each test is its own Miri process:
# two run at once on two cores, and undefined behaviour in one test (which
# ends its process) does not hide the others' results.
if cargo nextest --version >/dev/null 2>&1; then
  runner=(nextest run --no-fail-fast -j "${HEAPLAB_MIRI_JOBS:-2}")
else
  echo "cargo-nextest is missing: one Miri process runs each group, which stops at its first error"
  runner=(test)
fi

failed=()
group() {
  local name="$1"
  shift
  local t0 rc=0
  t0=$(date +%s)
  echo "--- miri $name: cargo miri ${runner[*]} $*"
  cargo "+$toolchain" miri "${runner[@]}" "$@" || rc=$?
  echo "--- miri $name: $(($(date +%s) - t0)) s, exit $rc"
  if [ "$rc" -ne 0 ]; then failed+=("$name"); fi
}

# `biased_locked_reads` (biased with locked list reads) runs biased's counts
# and the locked list path that `pool_locks` runs: both are in the set
# already, so Miri skips the twin (a quarter more of its slowest groups).
if [ "${runner[0]}" = nextest ]; then
  skip_twin=(-E 'not test(/^biased_locked_reads::/)')
else
  skip_twin=(-- --skip biased_locked_reads::)
fi

group alloc --lib alloc::
group semantics --test semantics "${skip_twin[@]}"
group threads --test threads "${skip_twin[@]}"

if [ "${#failed[@]}" -gt 0 ]; then
  echo "MIRI FAILED in: ${failed[*]} (the first error of each group is above)" >&2
  exit 1
fi
echo "miri: no undefined behaviour and no data race found in the set"
