#!/bin/sh
# SPDX-License-Identifier: MIT
# record-library.sh: (re)records the trace library. Run by hand, never by
# the tests: a regression must not be recorded into its own reference.
# Usage: traces/record-library.sh [path/to/viona-rr [NAME...]]   (from the repository root)
# With NAMEs only those traces are recorded (the others are left alone).
set -eu
T=${1:-build/viona-rr}
[ $# -gt 0 ] && shift
ONLY=" $* "
P=${VIONA_SHARED_DIR:-../shared}/pcaps
cd "$(dirname "$0")/.."
rec() {
  name=$1; shift
  if [ "$ONLY" != "  " ]; then
    case "$ONLY" in *" $name "*) ;; *) return 0 ;; esac
  fi
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
# A 7306-byte frame needing 37 chains of 200 bytes: merge overrun at the 33rd.
rec merge-overrun-custom-9000 --pcap "$P/tcpdump__gso-ipv4.pcap" --guest custom:mrg=1,buf=200,stride=256 \
    --ring-size 64 --mtu 9000
# The same frame with only 3 chains of 1536 bytes posted: merge underrun.
rec merge-underrun-custom-9000 --pcap "$P/tcpdump__gso-ipv4.pcap" --guest custom:mrg=1,chains=3 \
    --ring-size 64 --mtu 9000
rec indirect-linux-small --pcap "$P/tcpreplay__test.pcap" --guest custom:indirect_desc=1,rx_indirect=1,descs=2,buf=1024,hdr=10
# Malformed chains (--corrupt KIND@6): after frame 6 the guest rewrites the
# RX chain at the head of its avail ring; every later pop fails on it and
# counts KIND once per frame (ndesc_too_high instead keeps the ring going).
for k in bad_idx indir_bad_next indir_bad_nest indir_bad_len desc_bad_len too_many_desc len_overflow ndesc_too_high; do
  rec "corrupt-$k-linux-small" --pcap "$P/tcpreplay__test.pcap" -c 12 --guest linux-small --ring-size 64 --corrupt "$k@6"
done
# Merged RX: the failed pop is also rs_no_space.
rec corrupt-bad_ring_addr-linux-mrg --pcap "$P/tcpreplay__test.pcap" -c 12 --guest linux-mrg --ring-size 64 --corrupt bad_ring_addr@6
# TX checksum offload and LSO: the guest asks for NEEDS_CSUM + GSO TCPV4 (MSS 1448).
rec tx-offload-gso-lso --pcap "$P/tcpdump__gso-ipv4.pcap" --guest linux-mrg --ring-size 64 --direction tx \
    --tx-offload --backend-offload lso
rec tx-offload-gso-none --pcap "$P/tcpdump__gso-ipv4.pcap" --guest linux-mrg --ring-size 64 --direction tx \
    --tx-offload --backend-offload none
# HW_LSO frames: the GRO fallback (no GUEST_TSO4), and whole delivery (GUEST_TSO4).
rec gro-fallback-bigtcp-linux-small --pcap "$P/tcpdump__bigtcp-ipv4.pcap" --guest linux-small --ring-size 64 --rx-lso 1448
rec lso-whole-gso-linux-big --pcap "$P/tcpdump__gso-ipv4.pcap" --guest linux-big --ring-size 64 --rx-lso 1448
# TX checksum offload of small frames: the guest asks for NEEDS_CSUM on the
# capture's 179 IPv4 TCP/UDP frames; the backend takes partial, or full
# (IPv4) checksums. (No shared capture holds IPv6 or odd L4 frames, so the
# rs_fail_hcksum* paths stay with the unit suites.)
rec tx-csum-tcpreplay-partial --pcap "$P/tcpreplay__test.pcap" --guest linux-mrg --ring-size 64 --direction tx \
    --tx-offload --backend-offload partial
rec tx-csum-tcpreplay-full --pcap "$P/tcpreplay__test.pcap" --guest linux-mrg --ring-size 64 --direction tx \
    --tx-offload --backend-offload full
# 56-byte frames, padded to 60 from viona's shared 4-byte pad (no counter):
# the capture's four 60-byte frames (IGMPv2 and LOOP, whose last bytes are
# Ethernet padding) with their last 4 bytes chopped (caplen and length) by
# editcap, which comes with tshark (make deps).
if [ "$ONLY" = "  " ] || case "$ONLY" in *" pad56-linux-mrg "*) true ;; *) false ;; esac; then
  tmp=$(mktemp -d)
  tshark -r "$P/tcpreplay__test.pcap" -Y "frame.len == 60" -w "$tmp/f60.pcap" 2>/dev/null
  editcap -F pcap -L -C -4 "$tmp/f60.pcap" "$tmp/f56.pcap"
  rec pad56-linux-mrg --pcap "$tmp/f56.pcap" --guest linux-mrg
  rm -rf "$tmp"
fi
# Pause / get state / reset / set state / kick mid-traffic on the seed's layout
# (a legacy ring takes SET_STATE only from 256 entries).
rec migrate-seed-both --pcap "$P/tcpreplay__test.pcap" --filter "len == 1514" -c 12 \
    --guest custom:mrg=1,buf=1536,offset=3584,stride=4096 --ring-size 256 --direction both --migrate-at 6
