#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=N] [FUZZERS="tensorfile idx …"]: builds the harnesses with libFuzzer and
# AddressSanitizer (fuzz/Package.swift) and runs each for N seconds on a copy of its seed corpus
# (fuzz/corpus/<name>; new inputs it finds stay in .build-fuzz/work). Prints executions and crashes per
# harness; exits 1 if any harness found a crash, leak or timeout (the input is kept beside its work folder).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
fuzzers=${FUZZERS:-"tensorfile idx cifar jpeg views checkpoint"}
scratch=../.build-fuzz
# FUZZ_WORK: where corpora, artifacts and logs go (default the build's work/; the test suite's smoke uses a fresh folder)
workroot=${FUZZ_WORK:-$scratch/work}
swift build -c release --sanitize=fuzzer --sanitize=address --scratch-path "$scratch" >&2
failed=0
for f in $fuzzers; do
  work=$workroot/$f; mkdir -p "$work/corpus" "$work/artifacts"
  cp -n corpus/$f/* "$work/corpus/" 2>/dev/null || true
  log=$work/last.log
  start=$work/.started; : > "$start"
  set +e
  # -report_slow_units: a slow input under ASan on a loaded machine is not a finding (-timeout=20 still is)
  "$scratch/release/$f" "$work/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -report_slow_units=1000000 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 > "$log" 2>&1 &
  pid=$!
  wait $pid
  status=$?
  set -e
  rm -f /dev/shm/ns-fuzz-$pid* "${TMPDIR:-/tmp}"/ns-fuzz-$pid*       # the harness's scratch input file
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo "?")
  crashes=$(find "$work/artifacts" -type f -newer "$start" | wc -l)    # this run's findings, not an earlier run's
  printf 'fuzz %-11s %4d s  %10s executions  %d crash/leak/timeout inputs  (exit %d; log %s)\n' "$f" "$seconds" "$runs" "$crashes" "$status" "$log"
  if [[ $status -ne 0 || $crashes -gt 0 ]]; then failed=1; fi
done
exit $failed
