#!/usr/bin/env bash
# Fuzzes heaplab's parsers with libFuzzer: the scenario TOML parser and the
# results.json loader (with the reports rendered from what it accepts).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 60, every target)
#
# The targets live in fuzz/ (a cargo-fuzz crate outside the workspace, so
# stable builds never compile it); what each checks is fuzz/harness.rs.
# Built with cargo-fuzz on the nightly toolchain (HEAPLAB_NIGHTLY names it,
# default `nightly`), release with debug assertions (overflow checks on, as
# in `cargo test`) and no sanitizer: the parsers are safe Rust, so ASan would
# only slow them down. cargo-fuzz is installed from crates.io if missing.
#
# Corpus: fuzz/corpus/TARGET (grown here, not committed), seeded from
# fuzz/seeds/TARGET and, for `scenario`, the catalogue in workloads/; the
# mutator's dictionary (key names, numbers at the limits) is
# fuzz/dicts/TARGET.dict.
#
# When a target fails (panic, timeout of 10 s on one input, over 2 GiB),
# the input is copied to fuzz/regressions/TARGET/, where
# tests/fuzz_regressions.rs replays it in every `cargo test`; its bytes are
# also printed (base64) so that a CI log is enough to recover it. Commit the
# file with the fix. The script then exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(scenario results); fi
toolchain="${HEAPLAB_NIGHTLY:-nightly}"
cargo_fuzz_version="0.13.2"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: installing cargo-fuzz $cargo_fuzz_version from crates.io"
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi
echo "fuzzing with $(cargo fuzz --version) on $(cargo "+$toolchain" --version)"

cd fuzz
cargo "+$toolchain" fuzz build --sanitizer none --debug-assertions
bin="target/x86_64-unknown-linux-gnu/release"

failed=0
for t in "${targets[@]}"; do
  if [ ! -x "$bin/$t" ]; then
    echo "no fuzz target $t (see fuzz/Cargo.toml)" >&2
    exit 2
  fi
  mkdir -p "corpus/$t" "artifacts/$t" "regressions/$t"
  seeds=("seeds/$t")
  if [ "$t" = scenario ]; then seeds+=(../workloads); fi
  marker="$(mktemp)"
  echo "--- fuzz target $t: ${secs} s"
  rc=0
  dict=()
  if [ -f "dicts/$t.dict" ]; then dict=(-dict="dicts/$t.dict"); fi
  "$bin/$t" "corpus/$t" "${seeds[@]}" "${dict[@]}" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>"artifacts/$t.log" || rc=$?
  # libFuzzer prints a status line per new input; keep the summary.
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' \
    "artifacts/$t.log" || true
  new=$(find "artifacts/$t" -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \))
  rm -f "$marker"
  if [ "$rc" -ne 0 ] || [ -n "$new" ]; then
    failed=1
    echo "FUZZ TARGET $t FAILED (libFuzzer exit $rc); the end of its log:" >&2
    tail -n 40 "artifacts/$t.log" >&2
    for f in $new; do
      cp "$f" "regressions/$t/"
      echo "kept as fuzz/regressions/$t/$(basename "$f"); its bytes (base64):" >&2
      base64 -w 0 "$f" >&2
      echo >&2
    done
  fi
done
exit "$failed"
