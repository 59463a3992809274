// SPDX-License-Identifier: MIT
// ring_dump.h: a ring printed the way mdb's "::print viona_vring_t" shows it.
#ifndef VIONA_RING_DUMP_H_
#define VIONA_RING_DUMP_H_

#include <string>

#include "viona/link.h"
#include "viona/ring.h"

namespace viona {

// Prints |r| in the layout of mdb's ::print viona_vring_t, so that a dump can
// be read side by side with one from a live system (illumos bug 14032 shows
// such a dump). Values are hexadecimal, 0 printed as "0"; nested structs are
// "name = {" ... "}" indented by four spaces per level.
//
// Host pointers (vr_link, vr_lock, vr_cv, vr_worker_thread, vr_lease,
// vr_map_pages, ...) are omitted: the output must be identical on every host.
// The error counters appear as "vr_stats = { rs_... }", the 2021 naming used
// in the 14032 dump (newest illumos calls that struct vr_err_stats), in
// counters.inc order; the transfer stats follow as "vr_transfer_stats".
// The port's three part addresses (vr_desc_pa, vr_avail_pa, vr_used_pa) are
// additions: newest viona keeps them inside its per-part structs.
// With |link|, a TX ring also shows its vr_tx parameters.
std::string dump_vring(const Ring& r, const Link* link = nullptr);
// Just the counters, as the vr_stats / vr_transfer_stats blocks of
// dump_vring, indented by four spaces per |depth|.
std::string dump_ring_stats(const RingStats& rs, const TransferStats& vts, unsigned depth = 0);

}  // namespace viona

#endif  // VIONA_RING_DUMP_H_
