#!/usr/bin/env bash
# The loom models of heaplab's concurrency protocols, as CI runs them.
#
# Bounds (see loom-tests/src/lib.rs):
#   LOOM_MAX_PREEMPTIONS=2  preemptions explored per execution (default 2;
#                           raise it locally to look deeper: 3 costs ~10-50x)
#   LOOM_MAX_BRANCHES       at least 5000 (heap models verify the heap at the
#                           end; set by run_model)
#   LOOM_MAX_DURATION / LOOM_MAX_PERMUTATIONS are ignored: they stop the
#   search silently, so every model is explored completely.
#
# --cfg loom swaps heaplab::sync to loom's primitives; -C debug-assertions
# keeps the library's debug assertions (and overflow checks) on in the
# optimised build, so the models check them too. The build has its own
# target directory because these flags rebuild every crate.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg loom -C debug-assertions"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
unset LOOM_MAX_DURATION LOOM_MAX_PERMUTATIONS

# With no arguments, show each model's executions and time (one line each).
if [ "$#" -eq 0 ]; then
  set -- -- --nocapture
fi
exec cargo test -p loom-tests --release --target-dir target-loom "$@"
