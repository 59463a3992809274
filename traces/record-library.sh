#!/bin/sh
# SPDX-License-Identifier: MIT
# record-library.sh: (re)records the trace library. Run by hand, never by
# the tests: a regression must not be recorded into its own reference.
# Usage: traces/record-library.sh [path/to/viona-rr]   (from the repository root)
set -eu
T=${1:-build/viona-rr}
P=${VIONA_SHARED_DIR:-../shared}/pcaps
cd "$(dirname "$0")/.."
rec() {
  name=$1; shift
  rm -f "traces/$name.trace"
  "$T" record -o "traces/$name.trace" "$@" >/dev/null
  "$T" inspect "traces/$name.trace" > "traces/$name.inspect.txt"
  echo "recorded traces/$name.trace"
}
# The seed: one buffer per page at offset 0xe00, so a 1514-byte frame's first
# (and only) merged buffer is split 512/1024 by a page boundary: copies of 500
# then 1014 bytes (illumos 14032 reports too_short 2014 1514 here).
rec seed-14032-split --pcap "$P/tcpreplay__test.pcap" --filter "len == 1514" \
    --guest custom:mrg=1,buf=1536,offset=3584,stride=4096
rec tcpreplay-linux-mrg --pcap "$P/tcpreplay__test.pcap" --guest linux-mrg
rec tcpreplay-linux-big --pcap "$P/tcpreplay__test.pcap" --guest linux-big
rec tcpreplay-linux-small --pcap "$P/tcpreplay__test.pcap" --guest linux-small
rec tcpreplay-linux-mrg-both --pcap "$P/tcpreplay__test.pcap" --guest linux-mrg --direction both
rec tcpreplay-linux-small-tx --pcap "$P/tcpreplay__test.pcap" --guest linux-small --direction tx
rec gso-jumbo-linux-mrg-9000 --pcap "$P/tcpdump__gso-ipv4.pcap" --guest linux-mrg --mtu 9000
rec gso-jumbo-linux-mrg-9000-contiguous --pcap "$P/tcpdump__gso-ipv4.pcap" --guest linux-mrg --mtu 9000 --memory contiguous
rec gso-over-mtu-linux-mrg --pcap "$P/tcpdump__gso-ipv4.pcap" --guest linux-mrg
rec bigtcp-over-mtu-linux-big --pcap "$P/tcpdump__bigtcp-ipv4.pcap" --guest linux-big --mtu 9000
rec qinq-short-linux-mrg --pcap "$P/tcpdump__802.1ad_QinQ.pcap" --guest linux-mrg
rec qinq-short-linux-small --pcap "$P/tcpdump__802.1ad_QinQ.pcap" --guest linux-small
rec ldp-vlan-linux-mrg --pcap "$P/tcpdump__ldp-common-session.pcap" --guest linux-mrg
rec ldp-vlan-linux-big --pcap "$P/tcpdump__ldp-common-session.pcap" --guest linux-big
rec no-space-linux-mrg --pcap "$P/tcpreplay__test.pcap" --guest custom:mrg=1,chains=8 --batch 16
rec indirect-linux-small --pcap "$P/tcpreplay__test.pcap" --guest custom:indirect_desc=1,rx_indirect=1,descs=2,buf=1024,hdr=10
