// SPDX-License-Identifier: MIT
// bhyve_glue.h: front header of the bhyve glue: control node, PCI device, guests, backends.
#ifndef BHYVE_GLUE_BHYVE_GLUE_H_
#define BHYVE_GLUE_BHYVE_GLUE_H_

/*
 * bhyve glue -- the user-space half of a viona NIC, simulated
 *
 * viona is only half of a bhyve virtio-net device. bhyve's pci_virtio_viona.c
 * owns the PCI function the guest sees, and it drives the kernel through
 * ioctls on /dev/viona; a NIC (through MAC) sits underneath. This directory
 * models each of those parties around the port in viona/, so that guests
 * can be run against the port, recorded and replayed. It knows viona/ and
 * never replay/.
 *
 * General Architecture
 * --------------------
 *
 *   GuestDriver (guest/)       register reads/writes, buffers in GuestMemory
 *       |
 *   PciDevice (pci/)           legacy virtio BAR0, MSI-X table, poll loop
 *       |  VNA_IOC_* (viona_io.h)
 *   Device (device.h)          one open of /dev/viona: dispatch + viona::Link
 *       |  viona::TxSink / rx_pull
 *   Backend (backend/)         loopback, pcap, live (libpcap), tap (Linux)
 *
 * The Device is the soft state: Device::ioctl() dispatches the link-less
 * commands (CREATE, DELETE, VERSION, DEFAULT_PARAMS) first, then checks the
 * link is alive (ENXIO), then the link commands; anything else is ENOTTY.
 * It returns >= 0 on success and -errno on failure. The VM fd and the
 * datalink id of VNA_IOC_CREATE are numbers in a Registry, as they are
 * numbers in the kernel; vioc_create_t keeps its 8-byte layout.
 *
 * Run Modes
 * ---------
 *
 * Stepping: one thread. A RING_KICK on a TX ring drains it before the ioctl
 * returns; RX frames arrive only when the caller delivers them
 * (step_rx/deliver_rx); in-kernel MSIs are delivered when the call that
 * raised them returns; the poll loop runs when PciDevice::poll_interrupts
 * is called. Same inputs, same ring state, used entries and counters:
 * replay uses this mode.
 *
 * Threaded: bhyve's shape. A worker thread per TX ring drains on kick, an
 * RX thread pulls from the backend (start_rx), and PciDevice's poll thread
 * waits for POLLRDBAND. One mutex (the Device's) serialises every touch of
 * the Link; the PciDevice's register lock is always taken before it.
 * Interrupt delivery never holds the Device's lock, and guests only latch
 * interrupts in their handlers.
 *
 * Observation
 * -----------
 *
 * A DeviceObserver hears, in order and under the Device's lock, every
 * ioctl with decoded arguments and result, every RX batch with its frames,
 * every TX packet and drain, every loan release and every in-kernel MSI:
 * enough for a recorder to log guest actions and for a replayer to re-drive
 * a Device through Device::ioctl_decoded and deliver_rx. The link's probes
 * go to the ProbeListener set with Device::set_probe_listener.
 *
 * Guests
 * ------
 *
 * Guest drivers (viona-guests(7)) touch the device only through registers
 * and their memory only through GuestMemory, at fixed guest-physical
 * addresses. They reassemble merged frames from num_buffers, strip the
 * virtio header and compare each frame, byte for byte, with what they were
 * told to expect (padded to 60 bytes as viona pads).
 *
 * Divergences from bhyve
 * ----------------------
 *
 * - The notify fast path (SET_NOTIFY_IOP / SET_NOTIFY_MMIO) is recorded
 *   but a queue-notify write always goes through RING_KICK, the path bhyve
 *   falls back to when the in-kernel hook returns ESRCH.
 * - A zero queue PFN resets that ring instead of passing PA 0 to RING_INIT.
 * - Params travel as a small text list instead of a packed nvlist
 *   (param_text.h); the key rules and errnos are viona's.
 * - Loaned TX packets are released as soon as the drain that sent them
 *   returns: backends consume packets synchronously.
 * - DELETE without a link returns 0.
 */

#include "bhyve_glue/backend/backend.h"
#include "bhyve_glue/device.h"
#include "bhyve_glue/guest/guest_driver.h"
#include "bhyve_glue/guest/guest_profile.h"
#include "bhyve_glue/pci/pci_device.h"
#include "bhyve_glue/viona_io.h"

#endif  // BHYVE_GLUE_BHYVE_GLUE_H_
