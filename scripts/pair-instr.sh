#!/usr/bin/env bash
# Instructions per half of the raw alloc+free pair (the allocator bench's
# `alloc_free_pair`), for mimalloc, glibc (`system`) and heaplab's class
# table (`heaplab-raw`), at 32 and 64 bytes, with callgrind. The bench binary
# runs the pairs through two non-inlined functions, one per half
# (`HEAPLAB_PAIR_COUNT`, benches/alloc_pair/mod.rs); each half's inclusive
# count per pair includes its own call and return.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench allocators --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/allocators-* | grep -v "\.d$" | head -1)
iters=${ITERS:-200000}
printf '%-12s %5s %7s %7s %7s\n' contender size alloc free pair
for size in 32 64; do
  for c in mimalloc system heaplab-raw; do
    out=$(mktemp)
    HEAPLAB_PAIR_COUNT="$c:$size:$iters" valgrind --tool=callgrind \
      --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
    ann=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null)
    a=$(awk '/alloc_pair::alloc_half/ {gsub(",","",$1); print $1; exit}' <<<"$ann")
    f=$(awk '/alloc_pair::free_half/ {gsub(",","",$1); print $1; exit}' <<<"$ann")
    rm -f "$out"
    printf '%-12s %5s %7.1f %7.1f %7.1f\n' "$c" "$size" \
      "$(echo "$a / $iters" | bc -l)" "$(echo "$f / $iters" | bc -l)" "$(echo "($a + $f) / $iters" | bc -l)"
  done
done
