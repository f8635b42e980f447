#!/usr/bin/env bash
# Instruction counts of the hot paths, per policy, with callgrind (repeatable
# on a noisy machine: it counts instructions, not seconds). Each operation
# runs N1 and N2 times; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one
# iteration, with setup and teardown cancelled out.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/heaplab
n1=10000; n2=110000
ir() {
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" micro "$1" --policy "$2" --iters "$3" >/dev/null 2>&1
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}'
  rm -f "$out"
}
printf '%-16s %-11s %s\n' operation policy "instructions/iteration"
for op in raw-alloc-free alloc-free incref-decref; do
  for p in gil pool-locks biased; do
    a=$(ir "$op" "$p" $n1); b=$(ir "$op" "$p" $n2)
    printf '%-16s %-11s %s\n' "$op" "$p" "$(echo "scale=1; ($b - $a) / ($n2 - $n1)" | bc)"
  done
done
