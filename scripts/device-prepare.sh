#!/usr/bin/env bash
# Builds the binaries the sweep machine runs (scripts/device-sweep.sh) into
# .device/ (ignored by git; carried to the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target-device
cargo build --release --quiet
cargo test --release --test stress --no-run --quiet 2>/dev/null || cargo test --release --test stress --no-run
mkdir -p .device
cp "$CARGO_TARGET_DIR/release/heaplab" .device/heaplab
cp "$(ls -t "$CARGO_TARGET_DIR"/release/deps/stress-* | grep -v '\.d$' | head -1)" .device/stress
strip .device/heaplab .device/stress
ls -la .device
