#!/usr/bin/env bash
# ThreadSanitizer on heaplab's multi-threaded tests: data races the tests'
# schedules happen to reach, in optimised-for-debugging code at full size.
#
#   scripts/tsan.sh [TEST...]        (default: the threads and stress tests)
#
# The standard library is rebuilt with the sanitizer (-Zbuild-std), so its
# locks and atomics are seen too and std itself gives no false reports. TSan
# does not model stand-alone fences (`fence(Acquire)` after a release
# decrement, as Arc's drop does); code that must be clean under TSan uses
# the equivalent acquire load instead.
#
# Built into target/tsan (its own directory: these flags rebuild every crate
# and std). HEAPLAB_NIGHTLY names the toolchain (scripts/nightly.sh). Every
# report is printed (halt_on_error=0) and the run exits non-zero if there was
# one.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain="${HEAPLAB_NIGHTLY:-nightly}"
if [ "$#" -gt 0 ]; then tests=("$@"); else tests=(threads stress); fi
test_args=()
for t in "${tests[@]}"; do test_args+=(--test "$t"); done

export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
echo "tsan: $(rustc "+$toolchain" --version); tests: ${tests[*]}"
cargo "+$toolchain" test -Zbuild-std --target x86_64-unknown-linux-gnu \
  --target-dir target/tsan "${test_args[@]}"
