#!/usr/bin/env bash
# The scaling sweep on a many-core machine: every policy, the standard
# scenarios, threads 1, 2, 4, 8, 16, short durations; then the reliability
# stress at 16 threads. Uses binaries built beforehand into .device/
# (scripts/device-prepare.sh), since the sweep machine may have no registry
# access. Writes into $OUT (or ./device-out).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-device-out}
mkdir -p "$out/sweep"
{ nproc; lscpu; free -g; } > "$out/machine.txt" 2>&1
./.device/heaplab run --threads 1,2,4,8,16 --duration 0.25 --warmup 0.05 --repeat 2 \
  --workloads-dir workloads --out "$out/sweep" \
  --machine-label "${LABEL:-sweep machine}" > "$out/sweep.log" 2>&1
echo "sweep exit $?" >> "$out/sweep.log"
HEAPLAB_SOAK_SECS=45 HEAPLAB_SOAK_THREADS=16 ./.device/stress --ignored --nocapture soak > "$out/stress16.log" 2>&1
echo "stress exit $?" >> "$out/stress16.log"
./.device/stress --test-threads 1 >> "$out/stress16.log" 2>&1
ls -la "$out" "$out/sweep"
