#!/usr/bin/env bash
# CI's subset of CPython's regression tests (issue 17, part 2): the object
# types and the cycle collector, with every object through malloc
# (PYTHONMALLOC=malloc), under glibc's malloc and then each heaplab-malloc
# design. A design passes when its run reports the same counts (run,
# failures, skipped) and the same failing tests as glibc's: this machine's
# CPython may fail a test under glibc too (test_threading does here, which
# is why it is not in the subset), and such a failure is the machine's, not
# ours. Exits 1 if any design differs from glibc, 0 otherwise; skips (exit 0,
# reason printed) when the Python has no test package.
#
#   heaplab-malloc/scripts/cpython_ci.sh [LIB] [PYTHON]
#     LIB     the library to preload (default: target/debug/libheaplab_malloc.so,
#             what `cargo test -p heaplab-malloc` built; debug assertions on)
#     PYTHON  default python3
#   HEAPLAB_CPYTHON_MODULES overrides the module list.
set -uo pipefail
cd "$(dirname "$0")/../.."
LIB="${1:-$PWD/target/debug/libheaplab_malloc.so}"
PY="${2:-python3}"
MODULES="${HEAPLAB_CPYTHON_MODULES:-test_list test_tuple test_dict test_set test_gc}"
if ! "$PY" -c 'import test.support' 2>/dev/null; then
  echo "skipped: $PY has no test package (Debian: libpython3-testsuite)"
  exit 0
fi
[ -f "$LIB" ] || { echo "build first: $LIB is missing"; exit 1; }
echo "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])'); modules: $MODULES"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run: NAME, then the preload environment (none for glibc). Writes
# $tmp/NAME.summary (the counts and the sorted failing tests) and prints a line.
run() {
  local name="$1"; shift
  local start end rc
  start=$(date +%s.%N)
  env "$@" PYTHONMALLOC=malloc "$PY" -m test $MODULES >"$tmp/$name.out" 2>&1
  rc=$?
  end=$(date +%s.%N)
  {
    grep -o 'Total tests: run=[0-9]*.*' "$tmp/$name.out" | head -1
    grep -E '^(FAIL|ERROR): ' "$tmp/$name.out" | sort -u
  } >"$tmp/$name.summary"
  printf '%-13s %s | exit %s | %.1f s\n' "$name" "$(head -1 "$tmp/$name.summary")" "$rc" \
    "$(echo "$end - $start" | bc)"
  echo "$rc" >"$tmp/$name.rc"
}

run glibc -u LD_PRELOAD
if ! grep -q 'run=' "$tmp/glibc.summary"; then
  echo "glibc's run printed no test counts:"; tail -20 "$tmp/glibc.out"; exit 1
fi
status=0
for d in global-lock class-locks thread-local; do
  run "$d" LD_PRELOAD="$LIB" HEAPLAB_MALLOC="$d"
  if ! cmp -s "$tmp/glibc.summary" "$tmp/$d.summary" || [ "$(cat "$tmp/$d.rc")" != "$(cat "$tmp/glibc.rc")" ]; then
    echo "$d differs from glibc (counts, failing tests, exit status):"
    diff "$tmp/glibc.summary" "$tmp/$d.summary"
    tail -30 "$tmp/$d.out"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "every design matches glibc's result"
exit "$status"
