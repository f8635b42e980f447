#!/usr/bin/env bash
# Instructions per binary-trees node, heaplab (per policy) beside CPython
# 3.11, counted by callgrind: (Ir(depth A) - Ir(depth B)) / (nodes(A) -
# nodes(B)), so start-up and interpreter set-up cancel. heaplab's figure is
# given whole and without its cycle collections (the inclusive cost of
# `collect_if_due`, i.e. the collector's own work).
# Usage: scripts/trees-instr.sh [A] [B] [policies]   (default 14 12 "gil biased")
set -euo pipefail
cd "$(dirname "$0")/.."
a=${1:-14}; b=${2:-12}; policies=${3:-gil biased}
py=${PYTHON:-/root/.pyenv/versions/3.11.7/bin/python3}
bin=${HEAPLAB:-target/release/heaplab}
nodes() { # stretch + long-lived + every iteration's tree
  local n=$1 d t=0
  t=$(( (1 << (n + 2)) - 1 + (1 << (n + 1)) - 1 ))
  for ((d = 4; d <= n; d += 2)); do t=$(( t + (1 << (n - d + 4)) * ((1 << (d + 1)) - 1) )); done
  echo $t
}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !d {gsub(",","",$1); print $1; d = 1}'; }
gc() { callgrind_annotate --inclusive=yes "$1" 2>/dev/null \
  | awk '/collect_if_due/ && /\[/ {gsub(",","",$1); s+=$1} END {print s+0}'; }
na=$(nodes "$a"); nb=$(nodes "$b"); dn=$((na - nb))
printf '%-10s %12s %12s\n' program "instr/node" "w/o gc"
for p in $policies; do
  for d in "$a" "$b"; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$p.$d" "$bin" trees "$d" --policy "$p" >/dev/null 2>&1
  done
  ta=$(total "$out/$p.$a"); tb=$(total "$out/$p.$b"); ga=$(gc "$out/$p.$a"); gb=$(gc "$out/$p.$b")
  printf '%-10s %12.1f %12.1f\n' "$p" "$(echo "($ta - $tb) / $dn" | bc -l)" \
    "$(echo "(($ta - $ga) - ($tb - $gb)) / $dn" | bc -l)"
done
for d in "$a" "$b"; do
  valgrind --tool=callgrind --callgrind-out-file="$out/py.$d" "$py" scripts/binary-trees.py "$d" >/dev/null 2>&1
done
ta=$(total "$out/py.$a"); tb=$(total "$out/py.$b")
printf '%-10s %12.1f\n' "cpython" "$(echo "($ta - $tb) / $dn" | bc -l)"
