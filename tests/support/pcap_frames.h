// SPDX-License-Identifier: MIT
// pcap_frames.h: test-only access to the shared real captures (libpcap).
#ifndef TESTS_SUPPORT_PCAP_FRAMES_H_
#define TESTS_SUPPORT_PCAP_FRAMES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace viona {
namespace test {

// Every frame of the capture at |path|, captured bytes only (caplen). An
// unreadable file gives an empty vector, so a test asserting on the frame
// count fails visibly instead of crashing.
std::vector<std::vector<uint8_t>> read_pcap_frames(const std::string& path);

// The path of the shared capture |name| (e.g. "tcpdump__gso-ipv4.pcap").
// Looks in ../shared/pcaps/ relative to the current directory (the
// repository root under make), then $VIONA_SHARED_DIR/pcaps/, then
// /work/shared/pcaps/. Returns the last candidate if none exists, so the
// failing read names a sensible path.
std::string shared_pcap(const std::string& name);

}  // namespace test
}  // namespace viona

#endif  // TESTS_SUPPORT_PCAP_FRAMES_H_
