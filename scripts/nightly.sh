#!/usr/bin/env bash
# Makes sure the nightly toolchain that the fuzz, Miri and ThreadSanitizer
# checks need is here, with its miri and rust-src components, and records it.
#
#   scripts/nightly.sh
#
# Uses the machine's `nightly` toolchain (our machines ship one: rustc
# 1.97.0-nightly of 2026-05-19 when this was written); installs the dated
# nightly-$NIGHTLY_DATE only where no nightly exists at all; adds miri and
# rust-src with rustup where missing. Fails loudly if any of it cannot be had.
#
# Writes the toolchain's name to target/ci-nightly-toolchain (the other
# scripts take it from HEAPLAB_NIGHTLY, which .ci/run sets from that file)
# and its versions to target/ci-nightly.txt, and builds Miri's sysroot
# (cached under ~/.cache/miri).
set -euo pipefail
cd "$(dirname "$0")/.."

NIGHTLY_DATE="2026-05-19"
toolchain="${HEAPLAB_NIGHTLY:-nightly}"

fail() {
  echo "NIGHTLY ERROR: $*" >&2
  echo "NIGHTLY ERROR: the fuzz, Miri and ThreadSanitizer checks cannot run without it" >&2
  exit 1
}

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
  echo "no $toolchain toolchain here: installing nightly-$NIGHTLY_DATE"
  toolchain="nightly-$NIGHTLY_DATE"
  rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src \
    || fail "cannot install the toolchain $toolchain with rustup"
fi

installed=$(rustup component list --installed --toolchain "$toolchain") \
  || fail "cannot list the components of $toolchain"
for c in miri rust-src; do
  if ! grep -q "^$c" <<<"$installed"; then
    echo "adding the $c component to $toolchain"
    rustup component add --toolchain "$toolchain" "$c" \
      || fail "cannot add the $c component to $toolchain"
  fi
done

mkdir -p target
echo "$toolchain" >target/ci-nightly-toolchain
{
  echo "toolchain: $toolchain"
  rustc "+$toolchain" --version --verbose
  cargo "+$toolchain" --version
  cargo "+$toolchain" miri --version
} | tee target/ci-nightly.txt || fail "cannot run the tools of $toolchain"
if ! grep -q "$NIGHTLY_DATE" target/ci-nightly.txt; then
  echo "note: $toolchain is not the nightly of $NIGHTLY_DATE that the README's timings were taken with"
fi

cargo "+$toolchain" miri setup || fail "cannot build Miri's sysroot for $toolchain"
