#!/usr/bin/env bash
# CPython's regression tests for the object types and threads, with every
# object through malloc (PYTHONMALLOC=malloc), under glibc's malloc and each
# heaplab-malloc design (issue 17, part 2). Prints one line per run: tests
# run, result, duration.
#
#   cargo build -p heaplab-malloc --release
#   heaplab-malloc/scripts/cpython_tests.sh [PYTHON]    (default: python3 with a test package)
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${1:-python3}"
LIB="$PWD/target/release/libheaplab_malloc.so"
MODULES="test_gc test_threading test_list test_dict test_tuple test_set test_weakref"
if ! "$PY" -c 'import test.support' 2>/dev/null; then
  echo "skipped: $PY has no test package"; exit 0
fi
[ -f "$LIB" ] || { echo "build first: cargo build -p heaplab-malloc --release"; exit 1; }
echo "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
for d in glibc global-lock class-locks thread-local; do
  if [ "$d" = glibc ]; then pre=(); else pre=(env LD_PRELOAD="$LIB" HEAPLAB_MALLOC="$d"); fi
  start=$(date +%s.%N)
  out=$(PYTHONMALLOC=malloc "${pre[@]}" "$PY" -m test $MODULES 2>&1)
  rc=$?
  end=$(date +%s.%N)
  run=$(grep -o 'Total tests: run=[0-9]*[^ ]*.*' <<<"$out" | head -1)
  res=$(grep -o 'Result: [A-Z_ ]*' <<<"$out" | tail -1)
  printf '%-13s %s | %s | exit %s | %.1f s\n' "$d" "$run" "$res" "$rc" "$(echo "$end - $start" | bc)"
  if [ "$rc" -ne 0 ]; then grep -E 'FAIL|ERROR|Error|failed' <<<"$out" | head -20; fi
done
