#!/usr/bin/env bash
# Every scenario under every policy through valgrind's memcheck, with the
# allocator's client requests on (feature `valgrind`), so memcheck sees live
# and freed blocks inside our pools (use after free, double free, reads of
# uninitialised object memory, leaked blocks). Prints the error counts.
# `run` takes all five policies by default, the tracing ones (gil-tracing,
# tracing) included, whose blocks come back through the tracing collector's
# sweep; binary-trees runs under each of the five as well.
# Takes 5-10 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target-valgrind
cargo build --release --features valgrind --quiet || exit 1
bin=$CARGO_TARGET_DIR/release/heaplab
# std's own thread handle shows up as "possibly lost": count only definite leaks.
vg=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9)
total=0
run() {
  local log; log=$(mktemp)
  "${vg[@]}" "$@" >"$log" 2>&1
  local errs; errs=$(grep -o 'ERROR SUMMARY: [0-9]*' "$log" | awk '{print $3}')
  printf '%-70s memcheck errors: %s\n' "$*" "${errs:-?}"
  total=$((total + ${errs:-1}))
  rm -f "$log"
}
out=$(mktemp -d)
run "$bin" run --duration 0.1 --warmup 0 --repeat 1 --threads 1,2 --out "$out" \
  --workload alloc-churn,shared-read,shared-read-immortal,producer-consumer,cyclic-garbage,list-mutation,mixed-server,convoy
for p in gil pool-locks biased gil-tracing tracing; do
  run "$bin" trees 10 --policy "$p" --threads 2
done
echo "total memcheck errors: $total"
[ "$total" -eq 0 ]
