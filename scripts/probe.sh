#!/usr/bin/env bash
# Hostile-input probe: feeds the CLI bad flags, bad scenario files and bad
# results files, and counts how each ends. A case is "clean" when heaplab
# exits non-zero with a message and no panic or backtrace; a "crash" is a
# panic, a signal, or a zero exit on input that must be refused. Runs that
# are valid but extreme must either finish with plausible figures or fail
# the run with a reason.
#
#   scripts/probe.sh [path/to/heaplab]     (default: target/release/heaplab)
set -u
BIN=${1:-target/release/heaplab}
[ -x "$BIN" ] || { echo "probe: $BIN is not built (cargo build --release)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
tried=0 clean=0 crashes=0 accepted=0 flagged=0

refuse() { # refuse DESCRIPTION -- ARGS...: the CLI must refuse cleanly
    local what=$1; shift; shift
    tried=$((tried + 1))
    timeout 60 "$BIN" "$@" >out.txt 2>err.txt
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 100 ] && ! grep -q -E "panicked|RUST_BACKTRACE|stack backtrace" err.txt out.txt && [ -s err.txt ]; then
        clean=$((clean + 1))
    else
        crashes=$((crashes + 1))
        echo "NOT CLEAN ($what): exit $rc: $*"; head -3 err.txt
    fi
}

warned() { # warned DESCRIPTION WORD -- ARGS...: accepted, with a warning naming WORD
    local what=$1 word=$2; shift; shift; shift
    tried=$((tried + 1))
    timeout 120 "$BIN" "$@" --out w >out.txt 2>err.txt
    local rc=$?
    if [ $rc -eq 0 ] && grep -q "$word" err.txt && ! grep -q panicked err.txt; then
        clean=$((clean + 1))
    else
        crashes=$((crashes + 1))
        echo "NOT CLEAN ($what): exit $rc: $*"; head -3 err.txt
    fi
}

scenario() { # scenario DESCRIPTION TOML-TEXT: a scenario file that must be refused
    printf '%s\n' "$2" >bad.toml
    refuse "$1" -- run --quick --no-python --threads 1 --policy gil --workload bad.toml --out o
}

base='name = "p"
description = "probe"
driver = "mix"
[run]
duration_secs = 0.05
warmup_secs = 0.01
sample_every = 64
[mix]
alloc_leaf = 50
drop = 50
[params]
working_set = 16
max_list_len = 4
[sizes]
leaf = [[8, 1]]'

# --- flags ---
refuse "unknown policy" -- run --policy nope
refuse "empty policy" -- run --policy ''
refuse "unknown workload" -- run --workload nope
refuse "zero threads" -- run --threads 0
refuse "negative threads" -- run --threads -1
refuse "threads text" -- run --threads two
refuse "too many threads" -- run --threads 100000
refuse "duration zero" -- run --duration 0
refuse "duration tiny" -- run --duration 1e-9
refuse "duration NaN" -- run --duration NaN
refuse "duration inf" -- run --duration inf
refuse "duration huge" -- run --duration 1e9
refuse "warmup negative" -- run --warmup -1
refuse "warmup huge" -- run --warmup 1e9
refuse "repeat zero" -- run --repeat 0
refuse "repeat text" -- run --repeat x
refuse "precision zero" -- run --precision 0
refuse "precision over 100" -- run --precision 101
refuse "max-rounds zero" -- run --max-rounds 0
refuse "budget zero" -- run --budget 0
refuse "budget negative" -- run --budget -5
refuse "max-heap zero" -- run --max-heap 0
refuse "max-heap text" -- run --max-heap lots
refuse "max-heap overflow" -- run --max-heap 99999999999999999999999
refuse "switch interval zero" -- run --switch-interval-us 0
refuse "gc unknown" -- run --gc sometimes
refuse "generational off gil" -- run --gc generational --policy biased --quick
refuse "locks under gil" -- run --locks parking-lot --policy gil --quick
refuse "locks unknown" -- run --locks spin
refuse "mark workers zero" -- run --mark-workers 0
refuse "inject panic bad worker" -- run --inject-panic 99:0 --threads 1 --quick --no-python --policy gil --workload alloc-churn
refuse "inject panic text" -- run --inject-panic x:y
warned "duplicate workload" "twice" -- run --workload alloc-churn,alloc-churn --quick --no-python --policy gil --threads 1
warned "duplicate policy" "twice" -- run --policy gil,gil --quick --no-python --workload alloc-churn --threads 1
refuse "unknown flag" -- run --frobnicate
refuse "unknown subcommand" -- frobnicate
refuse "workloads-dir missing" -- run --workloads-dir /nonexistent --quick
refuse "out is a file" -- run --quick --out /etc/passwd
mkdir -p blocked/results.json
refuse "results.json is a directory" -- run --quick --no-python --policy gil --workload alloc-churn --threads 1 --out blocked
refuse "completions unknown shell" -- completions tcsh
refuse "list unknown driver" -- list --driver nope
refuse "trees depth text" -- trees x
refuse "trees depth huge" -- trees 1000
# --- results files ---
refuse "report of nothing" -- report /nonexistent
mkdir -p empty; refuse "report of empty dir" -- report empty
mkdir -p junk; echo '{not json' >junk/results.json; refuse "report of junk" -- report junk
mkdir -p wrong; echo '{"schema": 999}' >wrong/results.json; refuse "report of future schema" -- report wrong
mkdir -p arr; echo '[]' >arr/results.json; refuse "report of a list" -- report arr
refuse "compare missing" -- compare /nonexistent /nonexistent
refuse "compare junk" -- compare junk junk
refuse "compare bad threshold" -- compare junk junk --threshold -1
# --- scenario files ---
scenario "not toml" 'this is [not toml'
scenario "empty file" ''
scenario "missing name" "$(printf '%s\n' "$base" | sed '/^name/d')"
scenario "empty name" "$(printf '%s\n' "$base" | sed 's/^name = "p"/name = ""/')"
scenario "unknown driver" "$(printf '%s\n' "$base" | sed 's/driver = "mix"/driver = "nope"/')"
scenario "duration negative" "$(printf '%s\n' "$base" | sed 's/duration_secs = 0.05/duration_secs = -1.0/')"
scenario "duration NaN" "$(printf '%s\n' "$base" | sed 's/duration_secs = 0.05/duration_secs = nan/')"
scenario "sample_every zero" "$(printf '%s\n' "$base" | sed 's/sample_every = 64/sample_every = 0/')"
scenario "all-zero mix" "$(printf '%s\n' "$base" | sed 's/alloc_leaf = 50/alloc_leaf = 0/; s/drop = 50/drop = 0/')"
scenario "negative weight" "$(printf '%s\n' "$base" | sed 's/alloc_leaf = 50/alloc_leaf = -5/')"
scenario "unknown mix op" "$(printf '%s\n' "$base" | sed 's/drop = 50/drop = 50\nteleport = 3/')"
scenario "unknown section" "$base
[surprise]
x = 1"
scenario "working set zero" "$(printf '%s\n' "$base" | sed 's/working_set = 16/working_set = 0/')"
scenario "working set huge" "$(printf '%s\n' "$base" | sed 's/working_set = 16/working_set = 1000000000000/')"
scenario "size zero weight" "$(printf '%s\n' "$base" | sed 's/leaf = \[\[8, 1\]\]/leaf = [[8, 0]]/')"
scenario "size empty list" "$(printf '%s\n' "$base" | sed 's/leaf = \[\[8, 1\]\]/leaf = []/')"
scenario "size huge leaf" "$(printf '%s\n' "$base" | sed 's/leaf = \[\[8, 1\]\]/leaf = [[100000000000, 1]]/')"
scenario "size wrong shape" "$(printf '%s\n' "$base" | sed 's/leaf = \[\[8, 1\]\]/leaf = [8, 1]/')"
scenario "type mismatch" "$(printf '%s\n' "$base" | sed 's/working_set = 16/working_set = "many"/')"
long=$(python3 -c 'print("leaf = [" + ",".join("[8,1]" for _ in range(200000)) + "]")')
scenario "size list too long" "$(printf '%s\n' "$base" | sed '/^leaf/d')
$long"
scenario "mix driver params for another" "$(printf '%s\n' "$base" | sed 's/driver = "mix"/driver = "convoy"/')"

# --- valid but extreme: must finish plausibly or fail the run with a reason ---
extreme() {
    tried=$((tried + 1))
    timeout 300 "$BIN" "$@" --no-python --quiet --json --out x >x.json 2>err.txt
    local rc=$?
    if grep -q -E "panicked|stack backtrace" err.txt || [ $rc -ge 100 ]; then
        crashes=$((crashes + 1)); echo "CRASH (extreme): exit $rc: $*"; head -3 err.txt; return
    fi
    if [ $rc -eq 0 ]; then
        accepted=$((accepted + 1))
        python3 -c 'import json
d=json.load(open("x/results.json"))
for r in d["runs"]:
    print("   ", r.get("workload"), r.get("policy"), r.get("threads"), r.get("status"), "%.3g ops/s" % (r.get("ops",0)/max(r.get("seconds",1e-9),1e-9)), r.get("error") or "")' 2>/dev/null | sort | uniq -c | head -8
        # flagged: runs the lab itself failed as implausible (reason recorded)
        local f
        f=$(python3 -c 'import json,sys
d=json.load(open("x/results.json"))
print(sum(1 for r in d["runs"] if r.get("status")!="ok"))' 2>/dev/null || echo 0)
        flagged=$((flagged + f))
    else
        clean=$((clean + 1)); echo "  refused: $*: $(head -1 err.txt)"
    fi
}
extreme run --duration 0.01 --warmup 0.5 --workload alloc-churn --policy gil --threads 1 --repeat 5
extreme run --quick --threads 256 --workload alloc-churn --policy biased --repeat 3
extreme run --quick --threads 64 --workload binary-trees --policy pool-locks --repeat 3
extreme run --duration 0.01 --warmup 0 --workload convoy --policy gil --threads 8 --repeat 3

echo "probe: $tried cases: $((clean)) refused (or deduplicated with a warning) cleanly, $accepted extreme runs accepted ($flagged runs flagged implausible or failed with a reason), $crashes crashes"
[ $crashes -eq 0 ]
