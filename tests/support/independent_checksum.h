// SPDX-License-Identifier: MIT
// independent_checksum.h: a second, deliberately naive checksum verifier for
// tests, sharing no code with viona/checksum.cpp.
#ifndef TESTS_SUPPORT_INDEPENDENT_CHECKSUM_H_
#define TESTS_SUPPORT_INDEPENDENT_CHECKSUM_H_

#include <cstdint>
#include <vector>

namespace viona {
namespace test {

// Each takes a whole Ethernet frame (802.1Q / 802.1ad tags allowed) and
// answers false when the frame is not of the expected kind or is truncated.
// IP lengths come from the IP header (Ethernet padding is ignored); an IPv4
// total length of 0 (Linux BIG TCP) means "the rest of the frame".

// IPv4 only: the header (with options) sums to 0xffff.
bool ipv4_header_checksum_ok(const std::vector<uint8_t>& frame);
// TCP over IPv4 or IPv6 (no IPv6 extension headers): the pseudo-header plus
// segment sums to 0xffff.
bool tcp_checksum_ok(const std::vector<uint8_t>& frame);
// UDP over IPv4 or IPv6, likewise. A checksum field of 0 ("none" in IPv4) is
// reported as false: the tests use this to check checksums were computed.
bool udp_checksum_ok(const std::vector<uint8_t>& frame);

}  // namespace test
}  // namespace viona

#endif  // TESTS_SUPPORT_INDEPENDENT_CHECKSUM_H_
