#!/bin/sh
# SPDX-License-Identifier: MIT
# deps.sh: installs what the build and tests need, or says how (make deps).
set -e
# `deps.sh fuzz` (make fuzz-deps): only what the fuzzers need, clang++ with
# libFuzzer (Debian package clang); make test never needs it.
if [ "${1:-}" = fuzz ]; then
  cxx=${FUZZ_CXX:-clang++}
  if printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' |
      $cxx -fsanitize=fuzzer -x c++ - -o /dev/null 2>/dev/null; then
    exit 0
  fi
  if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
    echo "deps: installing: clang (for make fuzz)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null
    exit 0
  fi
  echo "deps: make fuzz needs $cxx with libFuzzer (-fsanitize=fuzzer): run as root: apt-get install clang"
  exit 1
fi
# pkg-config names / headers we need, and the Debian package providing each.
missing=""
have_hdr() { printf '#include <%s>\n' "$1" | ${CXX:-g++} -std=c++17 -x c++ -fsyntax-only - 2>/dev/null; }
command -v g++ >/dev/null 2>&1 || missing="$missing g++"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
have_hdr pcap/pcap.h || missing="$missing libpcap-dev"
have_hdr sqlite3.h || missing="$missing libsqlite3-dev"
have_hdr CLI/CLI.hpp || missing="$missing libcli11-dev"
have_hdr doctest/doctest.h || missing="$missing doctest-dev"
have_hdr nlohmann/json.hpp || missing="$missing nlohmann-json3-dev"
command -v tshark >/dev/null 2>&1 || missing="$missing tshark"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -z "$missing" ] && exit 0
if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
  echo "deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
elif [ -f /etc/debian_version ]; then
  echo "deps: missing:$missing"; echo "run as root: apt-get install$missing"; exit 1
else
  echo "deps: missing:$missing"
  echo "on illumos (OmniOS/SmartOS pkgsrc): pkgin install gcc13 gmake pkgconf libpcap sqlite3 cli11 doctest nlohmann-json wireshark"
  exit 1
fi
