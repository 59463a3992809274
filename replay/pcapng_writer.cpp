// SPDX-License-Identifier: MIT
// pcapng_writer.cpp: pcapng block encoding (layout in pcapng_writer.h) and the file sink.
#include "replay/pcapng_writer.h"

#include <cerrno>
#include <cstring>

namespace viona_rr {

namespace {

void put16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v));
  out->push_back(static_cast<uint8_t>(v >> 8));
}

void put32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void pad32(std::vector<uint8_t>* out) {
  while (out->size() % 4 != 0) out->push_back(0);
}

void put_option(std::vector<uint8_t>* out, uint16_t code, const uint8_t* value, size_t len) {
  if (len > 0xffff) len = 0xffff;  // the option length is a u16
  put16(out, code);
  put16(out, static_cast<uint16_t>(len));
  out->insert(out->end(), value, value + len);
  pad32(out);
}

void put_option(std::vector<uint8_t>* out, uint16_t code, const std::string& s) {
  put_option(out, code, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

void put_end_of_options(std::vector<uint8_t>* out) {
  put16(out, kPcapngOptEndOfOpt);
  put16(out, 0);
}

// Starts a block at the end of |out|; returns its offset for finish_block.
size_t begin_block(std::vector<uint8_t>* out, uint32_t type) {
  size_t start = out->size();
  put32(out, type);
  put32(out, 0);  // total length, patched by finish_block
  return start;
}

// Appends the trailing total length and patches the leading one.
void finish_block(std::vector<uint8_t>* out, size_t start) {
  pad32(out);  // every part is already padded; this keeps the invariant obvious
  uint32_t total = static_cast<uint32_t>(out->size() - start + 4);
  put32(out, total);
  for (int i = 0; i < 4; i++) (*out)[start + 4 + i] = static_cast<uint8_t>(total >> (8 * i));
}

}  // namespace

void append_pcapng_section_header(const std::string& userappl, const std::string& comment, std::vector<uint8_t>* out) {
  size_t start = begin_block(out, kPcapngBlockShb);
  put32(out, kPcapngByteOrderMagic);
  put16(out, 1);  // major
  put16(out, 0);  // minor
  put64(out, ~uint64_t{0});  // section length unknown (-1)
  if (!comment.empty() || !userappl.empty()) {
    if (!comment.empty()) put_option(out, kPcapngOptComment, comment);
    if (!userappl.empty()) put_option(out, kPcapngOptShbUserAppl, userappl);
    put_end_of_options(out);
  }
  finish_block(out, start);
}

void append_pcapng_interface(const PcapngInterface& ifc, std::vector<uint8_t>* out) {
  size_t start = begin_block(out, kPcapngBlockIdb);
  put16(out, ifc.link_type);
  put16(out, 0);  // reserved
  put32(out, ifc.snaplen);
  if (!ifc.name.empty()) put_option(out, kPcapngOptIfName, ifc.name);
  // Always written: the default (6, microseconds) would misread ns stamps.
  put_option(out, kPcapngOptIfTsresol, &ifc.tsresol, 1);
  put_end_of_options(out);
  finish_block(out, start);
}

void append_pcapng_packet(uint32_t interface_id, const PcapngPacket& pkt, std::vector<uint8_t>* out) {
  size_t start = begin_block(out, kPcapngBlockEpb);
  put32(out, interface_id);
  put32(out, static_cast<uint32_t>(pkt.timestamp >> 32));
  put32(out, static_cast<uint32_t>(pkt.timestamp));
  put32(out, pkt.caplen);
  put32(out, pkt.orig_len);
  if (pkt.caplen > 0) out->insert(out->end(), pkt.data, pkt.data + pkt.caplen);
  pad32(out);
  const bool flags = pkt.direction != PcapngDirectionKind::unknown;
  if (!pkt.comment.empty() || flags) {
    if (!pkt.comment.empty()) put_option(out, kPcapngOptComment, pkt.comment);
    if (flags) {
      uint8_t v[4];
      const uint32_t bits = static_cast<uint32_t>(pkt.direction);
      for (int i = 0; i < 4; i++) v[i] = static_cast<uint8_t>(bits >> (8 * i));
      put_option(out, kPcapngOptEpbFlags, v, sizeof v);
    }
    put_end_of_options(out);
  }
  finish_block(out, start);
}

PcapngWriter::~PcapngWriter() {
  std::string ignored;
  if (f_ != nullptr) close(&ignored);
}

bool PcapngWriter::open(const std::string& path, std::string* err) {
  path_ = path;
  errno_ = 0;
  if (path == "-") {
    f_ = stdout;
    own_ = false;
    return true;
  }
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr) {
    *err = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  own_ = true;
  return true;
}

void PcapngWriter::emit() {
  if (f_ != nullptr && errno_ == 0 && !buf_.empty()) {
    if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) errno_ = errno != 0 ? errno : EIO;
  }
  buf_.clear();
}

void PcapngWriter::write_section_header(const std::string& userappl, const std::string& comment) {
  append_pcapng_section_header(userappl, comment, &buf_);
  emit();
}

void PcapngWriter::write_interface(const PcapngInterface& ifc) {
  append_pcapng_interface(ifc, &buf_);
  emit();
}

void PcapngWriter::write_packet(uint32_t interface_id, const PcapngPacket& pkt) {
  append_pcapng_packet(interface_id, pkt, &buf_);
  emit();
}

bool PcapngWriter::close(std::string* err) {
  if (f_ == nullptr) {
    *err = "cannot write " + path_ + ": not open";
    return false;
  }
  if (errno_ == 0 && std::fflush(f_) != 0) errno_ = errno != 0 ? errno : EIO;
  if (own_ && std::fclose(f_) != 0 && errno_ == 0) errno_ = errno != 0 ? errno : EIO;
  f_ = nullptr;
  if (errno_ != 0) {
    *err = "cannot write " + path_ + ": " + std::strerror(errno_);
    return false;
  }
  return true;
}

}  // namespace viona_rr
