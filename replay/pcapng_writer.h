// SPDX-License-Identifier: MIT
// pcapng_writer.h: PcapngWriter, a minimal little-endian pcapng (draft-ietf-opsawg-pcapng) writer.
//
// libpcap reads pcapng but cannot write it, and only pcapng carries a
// per-packet comment, which is where `viona-rr export` puts each packet's
// ring outcome. This writer emits exactly three block types, always
// little-endian (every multi-byte field is written byte by byte, so the
// output does not depend on the host's byte order):
//
// Section Header Block (one, first in the file)
//   OFFSET  SIZE  FIELD
//     0      4   block type             0x0a0d0d0a
//     4      4   block total length     whole block, bytes (multiple of 4)
//     8      4   byte-order magic       0x1a2b3c4d (written 4d 3c 2b 1a)
//    12      2   major version          1
//    14      2   minor version          0
//    16      8   section length         -1 (not computed; allowed by the spec)
//    24      -   options                opt_comment (1) if given, shb_userappl (4), opt_endofopt
//     -      4   block total length     repeated
//
// Interface Description Block (one per interface; ids count from 0)
//     0      4   block type             0x00000001
//     4      4   block total length
//     8      2   link type              LINKTYPE_* (1 = Ethernet)
//    10      2   reserved               0
//    12      4   snap length            bytes
//    16      -   options                if_name (2) if given, if_tsresol (9) = 1 byte, opt_endofopt
//     -      4   block total length
//
// Enhanced Packet Block (one per frame)
//     0      4   block type             0x00000006
//     4      4   block total length
//     8      4   interface id           index of an IDB above
//    12      4   timestamp, upper 32 bits   in the interface's if_tsresol units
//    16      4   timestamp, lower 32 bits
//    20      4   captured length        bytes of packet data present
//    24      4   original length        bytes on the wire
//    28      -   packet data            captured length bytes, zero-padded to 4
//     -      -   options                opt_comment (1) if given, epb_flags (2) if a
//                                       direction is known, opt_endofopt
//     -      4   block total length
//
// Every option is: code u16, length u16 (bytes of value, before padding),
// value, zero padding to a multiple of 4. The options list ends with
// opt_endofopt (code 0, length 0); a block with no options has none at all.
// A comment longer than 65535 bytes (the u16 length) is cut at 65535.
//
// Usage:
//   PcapngWriter w;
//   if (!w.open("out.pcapng", &err)) ...;
//   w.write_section_header("viona-rr", "");
//   w.write_interface(PcapngInterface{});
//   w.write_packet(0, pkt);
//   if (!w.close(&err)) ...;               // reports any write error, once
#ifndef REPLAY_PCAPNG_WRITER_H_
#define REPLAY_PCAPNG_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace viona_rr {

constexpr uint32_t kPcapngBlockShb = 0x0a0d0d0a;
constexpr uint32_t kPcapngBlockIdb = 0x00000001;
constexpr uint32_t kPcapngBlockEpb = 0x00000006;
constexpr uint32_t kPcapngByteOrderMagic = 0x1a2b3c4d;
constexpr uint16_t kPcapngOptEndOfOpt = 0;
constexpr uint16_t kPcapngOptComment = 1;
constexpr uint16_t kPcapngOptShbUserAppl = 4;
constexpr uint16_t kPcapngOptIfName = 2;
constexpr uint16_t kPcapngOptIfTsresol = 9;
constexpr uint16_t kPcapngOptEpbFlags = 2;

struct PcapngInterface {
  uint16_t link_type = 1;     // LINKTYPE_ETHERNET
  uint32_t snaplen = 262144;  // bytes; the largest captured length of its packets
  std::string name;           // if_name; omitted when empty
  uint8_t tsresol = 9;        // if_tsresol: timestamps count 10^-tsresol s (9 = ns)
};

// epb_flags bits 0-1 (inbound/outbound), from the interface's point of view.
enum class PcapngDirectionKind : uint8_t {
  unknown = 0x0,   // no epb_flags option written
  inbound = 0x1,   // received by the interface
  outbound = 0x2,  // sent by the interface
};

struct PcapngPacket {
  uint64_t timestamp = 0;     // in the interface's if_tsresol units
  uint32_t orig_len = 0;      // bytes on the wire; >= caplen
  const uint8_t* data = nullptr;  // caplen bytes, not owned
  uint32_t caplen = 0;        // bytes of data
  PcapngDirectionKind direction = PcapngDirectionKind::unknown;
  std::string comment;        // opt_comment, UTF-8; omitted when empty
};

// Block encoders: append one whole block to |out|.
void append_pcapng_section_header(const std::string& userappl, const std::string& comment, std::vector<uint8_t>* out);
void append_pcapng_interface(const PcapngInterface& ifc, std::vector<uint8_t>* out);
void append_pcapng_packet(uint32_t interface_id, const PcapngPacket& pkt, std::vector<uint8_t>* out);

// Streams blocks to a file. Write errors are latched: after the first one
// every call does nothing, and close() returns false with its text.
class PcapngWriter {
 public:
  PcapngWriter() = default;
  ~PcapngWriter();
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // Creates or truncates |path| ("-" = standard output). On failure returns
  // false and sets |err| to "cannot write PATH: <strerror>".
  bool open(const std::string& path, std::string* err);
  void write_section_header(const std::string& userappl, const std::string& comment);
  void write_interface(const PcapngInterface& ifc);
  void write_packet(uint32_t interface_id, const PcapngPacket& pkt);
  // Flushes and closes; false with |err| set if any write failed.
  bool close(std::string* err);

 private:
  void emit();

  FILE* f_ = nullptr;
  bool own_ = false;  // false for stdout, which is flushed but not closed
  std::string path_;
  int errno_ = 0;     // first write error
  std::vector<uint8_t> buf_;  // the block being written
};

}  // namespace viona_rr

#endif  // REPLAY_PCAPNG_WRITER_H_
