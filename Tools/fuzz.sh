#!/usr/bin/env bash
# Fuzzes a parser with libFuzzer: Tools/fuzz.sh TARGET SECONDS   (TARGET "all" runs every target for SECONDS each)
#
# Builds `suyuan-fuzz` with -sanitize=fuzzer,address (in .build-fuzz; set FUZZ_SANITIZERS=fuzzer for speed),
# starts from the corpus in Tools/fuzz/corpus/TARGET/ and writes new inputs to .build-fuzz/corpus/TARGET/.
# An input that crashes or breaks a property of the target is saved as .build-fuzz/crashes/TARGET/crash-*:
# fix the bug, then copy the file into Tools/fuzz/corpus/TARGET/ so the test suite replays it for ever.
# With FUZZ_MERGE=1, new inputs that add coverage are merged into Tools/fuzz/corpus/TARGET/ afterwards (named
# fuzz-<sha1>; keep only a few small ones in git: the test suite replays every file).
# `suyuan-fuzz --list` (a normal build) lists the targets; `suyuan-fuzz TARGET FILE...` replays inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ]; then
  echo "usage: Tools/fuzz.sh TARGET|all SECONDS" >&2
  exit 64
fi
target=$1
seconds=$2
scratch=.build-fuzz
sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
targets=(json note checkpoint vkey envelope entry statement productcode keyfile witness timestamp didkey epcis attestation bundle termbundle batch)

swift build --product suyuan-fuzz --scratch-path "$scratch" \
  -Xswiftc "-sanitize=$sanitizers" -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 \
  | grep -v 'Cannot export local symbol' >&2
bin="$scratch/debug/suyuan-fuzz"

run_one() {
  local t=$1
  local seeds="Tools/fuzz/corpus/$t"
  local work="$scratch/corpus/$t"
  local crashes="$scratch/crashes/$t"
  [ -d "$seeds" ] || { echo "fuzz: no corpus directory $seeds (targets: ${targets[*]})" >&2; return 64; }
  mkdir -p "$work" "$crashes"
  local log="$scratch/fuzz-$t.log"
  # Bundles and batches of signed entries are larger than the other inputs: their seeds must fit whole.
  local max_len=8192
  case $t in bundle|termbundle|batch) max_len=32768 ;; esac
  local before
  before=$(find "$crashes" -type f | wc -l)
  set +e
  SWIFT_BACKTRACE=enable=no SUYUAN_FUZZ_TARGET=$t "$bin" "$work" "$seeds" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  local rc=$?
  set -e
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  local found
  found=$(( $(find "$crashes" -type f | wc -l) - before ))
  echo "fuzz $t: $runs executions in ${seconds}s, exit $rc, $found new crash file(s) in $crashes (log: $log)"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    local merged="$scratch/merged/$t"
    rm -rf "$merged"; mkdir -p "$merged"
    SWIFT_BACKTRACE=enable=no SUYUAN_FUZZ_TARGET=$t "$bin" -merge=1 "$merged" "$work" >>"$log" 2>&1 || true
    for f in "$merged"/*; do [ -f "$f" ] && cp "$f" "$seeds/fuzz-$(basename "$f")"; done
  fi
  if [ $rc -ne 0 ]; then
    grep -m3 'suyuan-fuzz:\|ERROR: \|Fatal error' "$log" >&2 || true
    return 1
  fi
}

status=0
if [ "$target" = all ]; then
  for t in "${targets[@]}"; do run_one "$t" || status=1; done
else
  run_one "$target" || status=$?
fi
exit $status
