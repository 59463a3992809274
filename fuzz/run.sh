#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh: make fuzz: runs each fuzz target FUZZ_SECONDS seconds on its corpus (fuzz/README.md).
# Usage: run.sh BUILD_DIR TARGET...
# Working corpora live in BUILD_DIR/corpus/<target> (seeded from
# fuzz/corpus/<target>, the trace library and the shared captures);
# crashes, invariant failures and timeouts in BUILD_DIR/crashes/<target>/.
set -e
build=$1
shift
secs=${FUZZ_SECONDS:-60}
status=0
for t in "$@"; do
  corpus=$build/corpus/$t
  crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  [ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  case $t in
    trace_reader)
      # The two smallest library traces (copies; traces/ stays untouched).
      for f in $(ls -S traces/*.trace 2>/dev/null | tail -2); do cp -n "$f" "$corpus"/ || true; done ;;
    pcap)
      for f in ../shared/pcaps/tcpdump__802.1ad_QinQ.pcap ../shared/pcaps/tcpdump__ldp-common-session.pcap; do
        [ -f "$f" ] && cp -n "$f" "$corpus"/ || true
      done ;;
  esac
  echo "fuzz: $t for ${secs}s (corpus $corpus, crashes $crashes/)"
  # -rss_limit_mb: libFuzzer + ASan take ~400-750 MiB here (tx the most); a leak still shows.
  if ! "$build/fuzz/$t" "$corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$crashes/" -print_final_stats=1 2>"$build/fuzz-$t.log"; then
    echo "fuzz: $t FAILED: see $build/fuzz-$t.log and $crashes/"
    status=1
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' \
    "$build/fuzz-$t.log" | sed "s/^/fuzz: $t: /" || true
done
exit $status
