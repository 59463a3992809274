// SPDX-License-Identifier: MIT
// vhost_user_server.h: a vhost-user net back end whose datapath is the viona port.
#ifndef BHYVE_GLUE_VHOST_USER_VHOST_USER_SERVER_H_
#define BHYVE_GLUE_VHOST_USER_VHOST_USER_SERVER_H_

#include <array>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/vhost_user/vhost_user_proto.h"
#include "viona/guest_memory.h"
#include "viona/quirks.h"

namespace bhyve_glue {

/*
 * A real guest, through vhost-user
 * --------------------------------
 *
 * QEMU's virtio-net-pci device with a vhost-user netdev hands its rings to
 * another process over a unix socket. This server is that process, and the
 * rings go to a viona::Link through the same /dev/viona model (Device, in
 * stepping mode) that bhyve's glue drives:
 *
 *   SET_MEM_TABLE           the memfd regions are mmapped and become
 *                           GuestMemory host regions at their guest-physical
 *                           addresses (paged translation applies); the
 *                           Device is created (VNA_IOC_CREATE) on them
 *   SET_FEATURES            VNA_IOC_SET_FEATURES (VERSION_1 = modern link)
 *   SET_VRING_NUM/BASE/ADDR remembered; QEMU virtual addresses are turned
 *                           into guest-physical ones through the region table
 *   SET_VRING_KICK (+enable) VNA_IOC_RING_SET_STATE, RING_SET_MSI, RING_KICK
 *   kick eventfd            VNA_IOC_RING_KICK (a TX kick drains the ring),
 *                           then the backend's RX frames go to ring 0
 *   in-kernel MSI           a write to that ring's call eventfd
 *   GET_VRING_BASE          VNA_IOC_RING_PAUSE; the reply is the ring's
 *                           next avail index
 *
 * One thread does everything (poll on the socket and the kick eventfds), so
 * the port sees the same serialised calls as in replay.
 *
 * Recording needs what the guest wrote, and a real guest writes its memory
 * directly. With a mirror (set_mirror), before every call that makes the
 * device read guest memory the server copies the guest-written state it is
 * about to read (descriptor table and avail ring, changed bytes only; TX
 * chains' indirect tables and buffers, whole) into the mirror through
 * GuestMemory::write, so a write observer on the mirror (the recorder)
 * sees them in order, as it sees a simulated guest's writes. A guest
 * that posts more chains between the copy and the device's read makes the
 * device see more than was copied; this is counted (mirror_races).
 */

// Counters of one server; printed by viona-rr vhost.
struct VhostUserStats {
  uint64_t messages = 0;      // well-formed requests handled
  uint64_t rejected = 0;      // malformed or unknown requests
  uint64_t replies = 0;
  uint64_t kicks[2] = {0, 0};  // kick eventfd wake-ups per ring
  uint64_t calls[2] = {0, 0};  // call eventfd writes per ring
  uint64_t rx_frames = 0;     // backend frames handed to the RX ring
  uint64_t rx_unready = 0;    // backend frames dropped: RX ring not running
  uint64_t mirror_races = 0;  // the device consumed chains the mirror had not seen
};

// How a poll round ended.
enum class VhostServeKind : uint8_t {
  ok = 0,      // keep going
  closed = 1,  // the front end disconnected
  error = 2,   // a message broke the stream (short header, oversize): connection dropped
};

class VhostUserServer {
 public:
  struct Options {
    viona::MemoryMode memory = viona::MemoryMode::paged;
    viona::Quirks quirks;
    bool offer_version_1 = true;  // needed by a modern (non-legacy) virtio-pci device
    bool verbose = false;         // one line per request on the log
    FILE* log = stderr;           // rejections and failures; nullptr = silent
  };
  // |backend| answers TX and feeds RX; it must outlive the server.
  VhostUserServer(Backend* backend, const Options& opts);
  ~VhostUserServer();
  VhostUserServer(const VhostUserServer&) = delete;
  VhostUserServer& operator=(const VhostUserServer&) = delete;

  // Called once the guest's memory is known and the Device exists, before
  // VNA_IOC_CREATE's effects are observed: install observers here.
  // |mirror| is null unless set_mirror(true).
  using ReadyHook = std::function<void(Device& dev, viona::GuestMemory* mirror)>;
  void set_ready_hook(ReadyHook h) { ready_hook_ = std::move(h); }
  void set_mirror(bool on) { mirror_on_ = on; }

  // Serves one front end connected on |fd| (the server owns and closes it).
  void attach(int fd);
  // One poll round: handles what is ready within |timeout_ms|.
  VhostServeKind poll_once(int timeout_ms);
  // attach + poll_once until the front end is gone. Returns the last kind.
  VhostServeKind serve(int fd);
  // Listens on a unix socket at |path| and accepts one connection.
  static int listen_accept(const std::string& path, std::string* err);

  const VhostUserStats& stats() const { return stats_; }
  Device* device() const { return dev_.get(); }
  viona::GuestMemory* memory() const { return mem_.get(); }
  viona::GuestMemory* mirror() const { return mirror_.get(); }
  uint64_t features_acked() const { return features_; }
  uint64_t protocol_features_acked() const { return proto_features_; }
  uint64_t features_offered() const;
  uint64_t protocol_features_offered() const { return VHOST_USER_PROTOCOL_F_REPLY_ACK; }
  // QEMU virtual address -> guest-physical; false outside every region.
  bool uva_to_gpa(uint64_t uva, uint64_t* gpa) const;

 private:
  struct Vring {
    uint16_t num = 0;
    uint16_t base = 0;
    bool addr_set = false;
    uint64_t desc = 0, avail = 0, used = 0;  // guest-physical
    int kick = -1, call = -1, err = -1;
    bool enabled = false;
    bool started = false;  // on the link (RING_SET_STATE done)
    uint16_t mirrored_avail = 0;  // avail.idx the mirror last copied
  };
  struct Mapping {
    VhostMemoryRegion reg;
    void* base = nullptr;  // mmap of [0, mmap_offset + size) of the fd
    size_t len = 0;
  };

  bool read_message(VhostUserHeader* h, std::vector<uint8_t>* payload, std::vector<int>* fds, VhostServeKind* kind);
  void handle(const VhostUserHeader& h, const std::vector<uint8_t>& p, std::vector<int>& fds);
  void reply(const VhostUserHeader& h, const void* payload, uint32_t len);
  void reject(const VhostUserHeader& h, const char* why);
  bool set_mem_table(const std::vector<uint8_t>& p, std::vector<int>& fds);
  void apply_features();
  void maybe_start(uint16_t i);
  void stop_ring(uint16_t i);
  void on_kick(uint16_t i);
  void pump_rx();
  void mirror_ring(uint16_t i);
  void mirror_copy(uint64_t gpa, uint64_t len, bool diff);
  void unmap_all();
  void close_fd(int* fd);
  void note(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  Backend* backend_;
  Options opts_;
  int fd_ = -1;
  uint64_t features_ = 0;
  uint64_t proto_features_ = 0;
  bool features_set_ = false;
  uint8_t status_ = 0;
  int slave_fd_ = -1;
  std::array<Vring, 2> vrings_;
  std::vector<Mapping> maps_;
  std::unique_ptr<viona::GuestMemory> mem_;
  std::unique_ptr<viona::GuestMemory> mirror_;
  std::unique_ptr<Registry> reg_;
  std::unique_ptr<Device> dev_;
  bool mirror_on_ = false;
  ReadyHook ready_hook_;
  VhostUserStats stats_;
};

}  // namespace bhyve_glue

#endif  // BHYVE_GLUE_VHOST_USER_VHOST_USER_SERVER_H_
