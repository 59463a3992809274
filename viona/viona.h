// SPDX-License-Identifier: MIT
// viona.h: the front header of the port of illumos viona; includes the public viona headers.
/*
 * viona - VIrtio for bhyve On Network Adapters, in user space
 *
 * This directory is a portable C++17 reimplementation of illumos viona, the
 * in-kernel virtio-net backend of bhyve, written from a behavioural
 * description (never from the CDDL source). It gives a simulated or recorded
 * guest the device semantics a real guest gets from illumos: the same chain
 * parsing, the same used lengths, the same rs_* counters and the same probe
 * stream, so that a trace recorded here can be compared event by event with
 * what viona would have done, and so that historic viona bugs can be switched
 * back on (Quirks) and reproduced. The code knows nothing of I/O, SQLite or
 * the command line: the layers above (bhyve_glue/, replay/) drive it.
 *
 * ---------------------------------------------------------------------------
 * Architecture
 * ---------------------------------------------------------------------------
 *
 * A Link (link.h, viona_link_t) is one virtio-net device: negotiated
 * features, parameters (copy or loan TX, header pad), MTU, promiscuous mode,
 * network hooks, and 2 * npairs Rings. Even rings receive (RX: host to
 * guest), odd rings transmit (TX: guest to host). The link is not
 * thread-safe; the glue serialises every call.
 *
 * A Ring (ring.h, viona_vring_t) is one split virtqueue: its state, its
 * three mapped parts (descriptor table, avail ring, used ring), the indices
 * vr_cur_aidx (next avail entry to consume, trailing avail.idx) and
 * vr_cur_uidx (next used entry to produce), the in-kernel MSI target, the
 * interrupt latch and the error and transfer stats.
 *
 * GuestMemory (guest_memory.h) stands in for the VM's memory and the vmm_drv
 * page-hold interface. It is made of 4 KiB pages; addresses outside every
 * region are holes, and holding one fails the way vmm_drv_page_hold does.
 * The device side reaches guest memory only through holds (every path that
 * takes one releases it; holds_outstanding() lets tests check that). The
 * driver side (simulated guests, tests) uses read()/write(). In the default
 * paged mode every page is a separate host allocation and every buffer is
 * split at each page boundary (illumos 13783); contiguous mode keeps the
 * pre-13783 model of one host range per descriptor.
 *
 *            Link ---- params, features, MTU, hooks, ProbeListener
 *           /    \
 *      Ring 0    Ring 1  ...  Ring 2n-1          (even RX, odd TX)
 *        |          |
 *        +--- holds +----> GuestMemory (4 KiB pages, regions, holes)
 *
 * ---------------------------------------------------------------------------
 * Ring States
 * ---------------------------------------------------------------------------
 *
 *          VNA_IOC_RING_INIT / _INIT_MODERN / _SET_STATE
 *          (validate, map parts, set indices, zero stats and MSI)
 *   +-----------+ ------------------------------> +-----------+
 *   | VRS_RESET |                                 | VRS_SETUP |
 *   |    0x0    | <---------+                     |    0x1    |
 *   +-----------+           |                     +-----------+
 *         ^                 |                           | worker start
 *         |                 | VNA_IOC_RING_RESET        v
 *         |                 | (REQ_STOP), link   +-----------+
 *         |                 | delete             | VRS_INIT  | <-----+
 *         |                 +------------------- |    0x2    |       |
 *         |                                      +-----------+       |
 *         |                    VNA_IOC_RING_KICK       |             |
 *         |                    (REQ_START)             v             |
 *         |                                      +-----------+       |
 *         |                                      |  VRS_RUN  |       |
 *         |                                      |    0x3    |       |
 *         |                                      +-----------+       |
 *         |                    VNA_IOC_RING_RESET      |             |
 *         |                    (REQ_STOP) or           |             |
 *         |                    VNA_IOC_RING_PAUSE      v             |
 *         |   reset path     (REQ_PAUSE)         +-----------+       |
 *         +------------------------------------- | VRS_STOP  | ------+
 *             (REQ_STOP, or the re-map failed)   |    0x4    |  REQ_PAUSE:
 *                                                +-----------+  indices,
 *                                                               mapping and
 *                                                               error stats kept
 *
 * Only ring init moves a ring out of RESET, and only while its state flags
 * are 0 (else EBUSY). In viona, once the worker thread exists only the worker
 * changes vr_state, under vr_lock, reacting to VRSF_REQ_START/STOP/PAUSE set
 * by the ioctls. This port has no worker thread: the Link call that makes a
 * request also performs the worker's reaction before it returns (see
 * Divergences), so SETUP and STOP are passed through within one call and are
 * never observed between calls. Kicking a ring in RESET (or STOP) is EBUSY;
 * kicking a running ring does nothing. Pause in RESET/SETUP/INIT only clears
 * REQ_START. The reset path unmaps the ring and zeroes vr_cur_aidx, the size
 * and the addresses but keeps vr_cur_uidx (zeroed at the next init). Leaving
 * RUN (pause or reset) adds the ring's transfer stats to the link's
 * vls_rx/vls_tx and zeroes them; an RX ring also clears USED_F_NO_NOTIFY,
 * which it set for the whole run.
 *
 * ---------------------------------------------------------------------------
 * Chain Parsing and Guest Errors
 * ---------------------------------------------------------------------------
 *
 * Ring::pop_chain (vq_popchain) takes the head at avail.ring[vr_cur_aidx &
 * mask] and walks it into at most niov pieces (RX: VTNET_MAXSEGS = 32, TX:
 * the queue size). Each descriptor is copied out of guest memory before it
 * is checked. A direct descriptor becomes one piece per guest page it
 * touches. An INDIRECT descriptor must be the last of its chain; its table
 * must be a non-zero multiple of 16 bytes, at most the queue size entries,
 * and may not wrap 2^64 or nest.
 *
 * Every malformed-guest condition is the viona triplet done by one call,
 * Ring::guest_error: bump rs_<name>, fire the probe of the same name, return
 * a specific result. Never an assert or an exception. A failed pop releases
 * every hold it took, does not advance vr_cur_aidx and pushes nothing, so
 * the chain stays at the head of avail and fails again at every later pop
 * until the ring is reset (viona's behaviour; the guest sees a stuck queue).
 * The conditions and their counters:
 *
 *   head or next index >= queue size        rs_bad_idx
 *   INDIRECT with NEXT in the main table,   rs_indir_bad_next
 *     or an indirect next >= table entries
 *   bad indirect table length               rs_indir_bad_len
 *   INDIRECT inside an indirect table       rs_indir_bad_nest
 *   descriptor of length 0                  rs_desc_bad_len
 *   chain length overflows 32 bits          rs_len_overflow
 *   more pieces than iovec room             rs_too_many_desc
 *   a page hold fails (hole, wrap)          rs_bad_ring_addr
 *   avail.idx - vr_cur_aidx > queue size    rs_ndesc_too_high (the pop proceeds)
 *
 * There is no cycle detection: a chain that loops, or is longer than the
 * iovec budget, ends when the budget is spent, and that case counts nothing
 * (as in viona). Errno values (EINVAL, EBUSY, ...) are only for the control
 * surface (ring init and the other VNA_IOC_* calls), never for guest data.
 *
 * ---------------------------------------------------------------------------
 * RX, TX and Loans
 * ---------------------------------------------------------------------------
 *
 * RX (rx.cpp, viona_rx.c): a batch of frames from one MAC callback goes to
 * one RX ring (hashed over usepairs). Frames over MTU + 14 are dropped or,
 * for LSO frames the guest cannot take, segmented in software (segment.h);
 * short frames are padded to 60 bytes (OS-6815). Without MRG_RXBUF one chain
 * takes the whole frame; with it up to 32 chains are used and published with
 * one used.idx update (push_used_many). A frame that does not fit still
 * returns its chain, with rs_bad_rx_frame / rs_too_short, as viona does. One
 * interrupt decision is made per batch.
 *
 * TX (tx.cpp, viona_tx.c): Link::tx_drain pops chains until the ring is
 * empty, reads the virtio-net header through a cursor (any descriptor
 * layout), checks the length, translates checksum and LSO requests into
 * TxOffload (checksum.h, tx_finish.h) and hands the packet to a TxSink. The
 * used length is the whole chain including the header. In copy mode (the
 * newest default, tx_copy_data) the used entry is written at once. In loan
 * mode (tx_loans.h, viona's "desb") the packet references guest pages; its
 * TxLoan slot, indexed by head id, keeps the holds and the used entry is
 * written only when the backend calls Link::tx_release. vr_xfer_outstanding
 * counts loans in flight.
 *
 * ---------------------------------------------------------------------------
 * Notifications and Interrupts
 * ---------------------------------------------------------------------------
 *
 * Kicks: USED_F_NO_NOTIFY is set on an RX ring for the whole run (frames
 * arrive from MAC, never from kicks) and on a TX ring while it drains; after
 * re-enabling, a full fence precedes the re-check of avail (viona relies on
 * x86 TSO here; the port adds acquire after reading avail.idx, release
 * before publishing used.idx and the full fence).
 *
 * Interrupts: Ring::intr_ring (viona_intr_ring) honours the guest's
 * AVAIL_F_NO_INTERRUPT unless told to skip it (NOTIFY_ON_EMPTY); with an MSI
 * address set it injects the MSI through the InterruptSink; otherwise it
 * latches vr_intr_enabled 0 -> 1 and only that edge wakes the poller
 * (VNA_IOC_INTR_POLL); VNA_IOC_RING_INTR_CLR clears the latch. EVENT_IDX and
 * packed rings are not implemented, in viona nor here.
 *
 * ---------------------------------------------------------------------------
 * Statistics
 * ---------------------------------------------------------------------------
 *
 * Error stats (Ring::rs, RingStats, vr_err_stats): one uint64 rs_<name>
 * counter per kind of guest or frame misbehaviour, per ring, plain
 * increments, zeroed at ring init. counters.inc is the one list, in
 * viona_impl.h order, from which the struct, RsCounter, the mdb-style dump
 * (ring_dump.h) and the trace names are generated.
 *
 * Transfer stats (Ring::vts, TransferStats, vr_stats): vts_packets, _bytes,
 * _errors and _drops per ring, added to the link's vls_rx / vls_tx when the
 * ring leaves RUN. Errors exclude a full ring; drops include a full ring and
 * hook drops. Frames dropped because the ring is not running count nowhere.
 *
 * ---------------------------------------------------------------------------
 * Probes
 * ---------------------------------------------------------------------------
 *
 * probes.inc lists one ProbeKind per viona SDT probe (viona-<name>) with its
 * numeric arguments; pointer arguments (ring, mblk) become the ring index or
 * are dropped. A ProbeListener (the recorder, tests) also hears the port's
 * datapath events: a chain popped, a used entry written and published, an
 * interrupt decision, bytes written into the guest. Every rs_* increment
 * fires its probe in the same call, so the probe stream and the counters
 * cannot disagree. With no listener a probe site costs one branch.
 *
 * ---------------------------------------------------------------------------
 * Divergences from illumos
 * ---------------------------------------------------------------------------
 *
 * The reference is the newest illumos-gate usr/src/uts/intel/io/viona/
 * (viona_main.c, viona_ring.c, viona_rx.c, viona_tx.c, viona_impl.h,
 * interface version 6); the older behaviours are Quirks (quirks.h).
 *
 * 1. State changes are made synchronously by the control call, not by a
 *    worker thread (viona_main.c viona_ring_init/_reset/_pause and the
 *    worker in viona_ring.c). There is no lease, so no renewal and no
 *    VRSF_RENEW; ring pages are not marked dirty or deferred-dirty.
 * 2. VNA_IOC_RING_RESET and VNA_IOC_RING_PAUSE refuse with EBUSY while TX
 *    loans are outstanding (vr_xfer_outstanding != 0) instead of waiting:
 *    with the calls serialised nothing else could release them, so viona's
 *    wait would never end.
 * 3. Indirect table entries that straddle a page are read correctly, from
 *    both pages (viona_ring.c vq_popchain_indirect reads an entry from a
 *    single page mapping and would read past it; see viona-behaviour.md
 *    §3.4).
 * 4. The TX drain stops at a malformed chain at the head of avail (it stays
 *    there for the next kick) instead of spinning on it, checking for bail
 *    every TX_BURST_THRESH iterations, until the ring is reset
 *    (viona_tx.c viona_tx_ring_drain; §5.1).
 * 5. A failed pop also clears everything the partial walk put in the Chain
 *    (pieces, descriptors, total length), keeping only the cookie: viona's
 *    outputs are simply not used on error.
 * 6. Historic bugs are kept as quirks, off by default: illumos 14032 (merged
 *    RX miscounted bytes copied, commit 49e0679264), illumos 13783 (batch
 *    push wrote every element to one used slot, commit 427f9b9a16), and
 *    OS-6815 (short RX frames not padded), plus MemoryMode::contiguous for
 *    the pre-13783 memory model.
 * 7. The legacy VNA_IOC_RING_INIT requires only its base address to be page
 *    aligned; newest viona requires every part of a non-modern ring to be
 *    4096-aligned, which rejects the legacy layout for queues under 256
 *    entries (§2.3). Link::ring_init keeps the 2021 rule so that legacy
 *    guests with small queues work; RING_INIT_MODERN and SET_STATE follow
 *    the newest rule.
 */
#ifndef VIONA_VIONA_H_
#define VIONA_VIONA_H_

#include "viona/checksum.h"
#include "viona/guest_memory.h"
#include "viona/link.h"
#include "viona/packet.h"
#include "viona/probes.h"
#include "viona/quirks.h"
#include "viona/ring.h"
#include "viona/ring_dump.h"
#include "viona/segment.h"
#include "viona/stats.h"
#include "viona/tx_finish.h"
#include "viona/tx_loans.h"
#include "viona/virtio_defs.h"

#endif  // VIONA_VIONA_H_
