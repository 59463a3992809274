#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli-test.sh: runs the built viona-rr as a user would and checks what the
# man pages promise: --help on every command, the exit statuses (0 success,
# 1 a verification finding, 2 usage error or unreadable input), the JSON
# summaries. The library tests cover what the commands compute; this covers
# the command line around it. Usage: scripts/cli-test.sh PATH/TO/viona-rr
set -u
tool=${1:?usage: cli-test.sh PATH/TO/viona-rr}
# The shared captures, where the tests look for them (tests/support/pcap_frames.cpp).
pcaps=../shared/pcaps
[ -d "$pcaps" ] || pcaps=${VIONA_SHARED_DIR:-/work/shared}/pcaps
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
checks=0

# expect STATUS DESCRIPTION COMMAND...: the command exits with STATUS.
expect() {
  local want=$1 what=$2
  shift 2
  checks=$((checks + 1))
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "cli-test: FAIL: $what: exit $got, expected $want: $*"
    sed 's/^/  | /' "$work/err" | head -5
    fails=$((fails + 1))
  fi
}

# has WHAT FILE PATTERN: FILE contains the fixed string PATTERN.
has() {
  checks=$((checks + 1))
  if ! grep -qF -- "$3" "$2"; then
    echo "cli-test: FAIL: $1: no '$3' in $2:"
    sed 's/^/  | /' "$2" | head -8
    fails=$((fails + 1))
  fi
}

# --help everywhere, exit 0, naming the command.
expect 0 "top-level --help" "$tool" --help
has "top-level --help" "$work/out" "Subcommands:"
for cmd in run record replay inspect export diff minimize vhost; do
  expect 0 "$cmd --help" "$tool" "$cmd" --help
  has "$cmd --help" "$work/out" "Usage:"
done
expect 0 "--version" "$tool" --version

# Usage errors: exit 2 with a one-line message on stderr.
expect 2 "no subcommand" "$tool"
expect 2 "unknown subcommand" "$tool" frobnicate
expect 2 "unknown option" "$tool" replay --no-such-option traces/
expect 2 "record --writer bogus" "$tool" record --pcap "$pcaps/tcpreplay__test.pcap" --writer bogus -o "$work/x.trace"
expect 2 "record without a source" "$tool" record -o "$work/x.trace"

# record: a trace, its JSON summary, the guest's verdict.
expect 0 "record --json" "$tool" record --pcap "$pcaps/tcpreplay__test.pcap" --guest linux-mrg --batch 8 \
  -o "$work/a.trace" --json
cp "$work/out" "$work/record.json"
has "record --json" "$work/record.json" '"guest_ok": true'
has "record --json" "$work/record.json" '"rx_verified": 179'
has "record --json" "$work/record.json" '"packets": 179'
expect 2 "record onto an existing trace" "$tool" record --pcap "$pcaps/tcpreplay__test.pcap" -o "$work/a.trace"
expect 0 "record --writer inline" "$tool" record --pcap "$pcaps/tcpreplay__test.pcap" --guest linux-mrg --batch 8 \
  --writer inline -o "$work/b.trace"
expect 0 "diff of the two writers" "$tool" diff "$work/a.trace" "$work/b.trace"
has "diff of the two writers" "$work/out" "identical"

# replay: 0 clean, 1 a finding, 2 unreadable.
expect 0 "replay clean" "$tool" replay "$work/a.trace"
expect 0 "replay --json" "$tool" replay --json "$work/a.trace"
has "replay --json" "$work/out" '"passed": 1'
expect 0 "record with illumos-14032" "$tool" record --pcap "$pcaps/tcpdump__gso-ipv4.pcap" --guest linux-mrg \
  --mtu 9000 --quirk illumos-14032 -o "$work/q.trace"
expect 1 "replay of a 14032 recording: the oracle finds it" "$tool" replay "$work/q.trace"
printf 'not a trace at all\n' >"$work/junk.trace"
expect 2 "replay of a file that is not a trace" "$tool" replay "$work/junk.trace"
head -c 8192 "$work/a.trace" >"$work/cut.trace"
expect 2 "replay of a truncated trace" "$tool" replay "$work/cut.trace"
expect 2 "replay of a missing file" "$tool" replay "$work/missing.trace"

# inspect and export.
expect 0 "inspect" "$tool" inspect "$work/a.trace"
has "inspect" "$work/out" "vts_packets = 0xb3"
has "inspect: the stored scenario" "$work/out" "batch 8 "
expect 0 "inspect --json" "$tool" inspect --json "$work/a.trace"
has "inspect --json" "$work/out" '"vts_packets": 179'
has "inspect --json: the stored scenario" "$work/out" '"batch": 8'
expect 2 "inspect of a file that is not a trace" "$tool" inspect "$work/junk.trace"
expect 0 "export pcap" "$tool" export --format pcap -o "$work/a.pcap" "$work/a.trace"
expect 0 "export pcapng" "$tool" export --format pcapng -o "$work/a.pcapng" "$work/a.trace"
expect 2 "export --format bogus" "$tool" export --format bogus -o "$work/x" "$work/a.trace"

if [ "$fails" -ne 0 ]; then
  echo "cli-test: $fails of $checks checks failed"
  exit 1
fi
echo "cli-test: $checks checks passed"
