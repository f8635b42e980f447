#!/usr/bin/env bash
# Valgrind's memcheck on a C program with heaplab-malloc preloaded, built
# with the `valgrind` feature (memcheck's client requests, src/vg.rs), under
# each design (issue 17). tests/c/memcheck.c runs twice per design:
#   clean: memcheck must report no error (ERROR SUMMARY: 0) and no leak;
#   bugs:  a read after free, a branch on never-written malloc'd memory and
#          10 leaked blocks, each of which memcheck must report.
# The library must really serve the program (its statistics line is checked).
# Last, for contrast, the bugs under the plain build (no client requests),
# where memcheck should see nothing: its error count is printed, not checked.
# Exits 1 on any failed check; skips (exit 0) without valgrind or cc.
#
#   heaplab-malloc/scripts/memcheck.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
for tool in valgrind cc; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed"; exit 0; }
done
cargo build -p heaplab-malloc --features valgrind --target-dir target/valgrind || exit 1
LIB="$PWD/target/valgrind/debug/libheaplab_malloc.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O0 -g -pthread -o "$tmp/memcheck" heaplab-malloc/tests/c/memcheck.c || exit 1
# nouserintercepts: memcheck otherwise replaces a preloaded library's malloc
# with its own too, and ours would serve nothing.
VG=(valgrind --soname-synonyms=somalloc=nouserintercepts --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite)
status=0
fail() { echo "FAIL ($1): $2"; tail -40 "$3"; status=1; }

for d in global-lock class-locks thread-local; do
  out="$tmp/$d.clean"
  LD_PRELOAD="$LIB" HEAPLAB_MALLOC="$d" HEAPLAB_MALLOC_STATS=1 "${VG[@]}" "$tmp/memcheck" >"$out" 2>&1
  grep -qE 'arenas [1-9]' "$out" || fail "$d" "heaplab-malloc served nothing (statistics line)" "$out"
  grep -q 'ERROR SUMMARY: 0 errors' "$out" || fail "$d" "memcheck reports errors in the clean run" "$out"
  grep -q '^clean ' "$out" || fail "$d" "the clean run did not finish" "$out"
  out="$tmp/$d.bugs"
  LD_PRELOAD="$LIB" HEAPLAB_MALLOC="$d" "${VG[@]}" "$tmp/memcheck" bugs >"$out" 2>&1
  grep -q 'Invalid read of size 1' "$out" || fail "$d" "read after free not reported" "$out"
  grep -q 'Conditional jump or move depends on uninitialised value' "$out" ||
    fail "$d" "uninitialised read not reported" "$out"
  grep -qE 'definitely lost: [0-9,]+ bytes in 10 blocks' "$out" || fail "$d" "the 10 leaked blocks not reported" "$out"
  echo "$d: clean run $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/$d.clean"); bugs run $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$out"), $(grep -oE 'definitely lost: [0-9,]+ bytes in [0-9]+ blocks' "$out")"
done

plain="$PWD/target/debug/libheaplab_malloc.so"
if [ -f "$plain" ]; then
  LD_PRELOAD="$plain" HEAPLAB_MALLOC=thread-local "${VG[@]}" "$tmp/memcheck" bugs >"$tmp/plain" 2>&1
  echo "for contrast, the plain build (no client requests), bugs run: $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/plain")"
fi
[ "$status" -eq 0 ] && echo "memcheck: every design passes"
exit "$status"
