#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh: boots Debian's kernel under QEMU (TCG) with a vhost-user virtio-net
# device served by `viona-rr vhost`; the guest pings the responder (10.0.0.1)
# and the recorded trace must replay. Usage: run.sh [VIONA_RR] (modes from
# REAL_GUEST_MODES, default "legacy modern"; pings from REAL_GUEST_PINGS).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOL=$(realpath "${1:-$ROOT/build/viona-rr}")
OUT=$ROOT/build/real-guest
MODES=${REAL_GUEST_MODES:-legacy modern}
PINGS=${REAL_GUEST_PINGS:-10}
QEMU_TIMEOUT=${REAL_GUEST_TIMEOUT:-180}
mkdir -p "$OUT"
t0=$(date +%s.%N)
stamp() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*"; }

# --- packages -------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx insmod || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "real-guest: missing ${need[*]} and not root" >&2; exit 2; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >"$OUT/apt.log" 2>&1 ||
    { apt-get update >>"$OUT/apt.log" 2>&1 && apt-get install -y --no-install-recommends "${need[@]}" >>"$OUT/apt.log" 2>&1; }
fi
stamp "packages ready"

# --- kernel (downloaded, not installed) --------------------------------------
KDIR=$OUT/kernel
if ! ls "$KDIR"/boot/vmlinuz-* >/dev/null 2>&1; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then apt-get update >"$OUT/apt-update.log" 2>&1 || true
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); fi
  [ -n "$pkg" ] || { echo "real-guest: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 2; }
  rm -rf "$OUT/deb" && mkdir -p "$OUT/deb"
  (cd "$OUT/deb" && apt-get download "$pkg" >/dev/null)
  rm -rf "$KDIR" && dpkg-deb -x "$OUT"/deb/*.deb "$KDIR"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KDIR/lib/modules/$KVER/kernel
# The bzImage's payload is xz: the ELF vmlinux inside (PVH note) boots faster.
KERNEL=$OUT/vmlinux
if [ ! -s "$KERNEL" ]; then
  off=$(grep -abo $'\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ] && tail -c +$((off + 1)) "$VMLINUZ" | xz -dc --single-stream >"$KERNEL.tmp" 2>/dev/null &&
     [ "$(head -c 4 "$KERNEL.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
    mv "$KERNEL.tmp" "$KERNEL"
  else
    rm -f "$KERNEL.tmp"; cp "$VMLINUZ" "$KERNEL"
  fi
fi
stamp "kernel $KVER"

# --- initramfs -------------------------------------------------------------
INITRD=$OUT/initramfs.cpio.gz
IR=$OUT/initramfs
rm -rf "$IR" && mkdir -p "$IR"/{bin,proc,sys,dev,mods}
cp /bin/busybox "$IR/bin/busybox"
for a in sh mount insmod ip ping arp cat sleep poweroff echo ls grep sed; do ln -s busybox "$IR/bin/$a"; done
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
         drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci net/core/failover \
         drivers/net/net_failover drivers/net/virtio_net; do
  cp "$MODDIR/$m.ko" "$IR/mods/"
done
cat >"$IR/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# virtio needs symbols from virtio_ring, virtio_pci from both transports' helpers.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  insmod /mods/$m.ko || echo "RG-INSMOD-FAIL $m"
done
n=10
for w in $(cat /proc/cmdline); do case $w in rg.pings=*) n=${w#rg.pings=};; esac; done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.0.2/24 dev eth0
for d in /sys/bus/virtio/devices/*; do echo "RG-FEATURES $(cat $d/device) $(cat $d/features)"; done
ping -c $n -A -W 5 -w 60 10.0.0.1
echo "RG-PING-RC $?"
for s in rx_packets tx_packets rx_bytes tx_bytes rx_dropped tx_dropped rx_errors tx_errors; do
  echo "RG-STAT $s $(cat /sys/class/net/eth0/statistics/$s)"
done
echo RG-DONE
poweroff -f
INIT
chmod +x "$IR/init"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1 >"$INITRD")
stamp "initramfs $(du -k "$INITRD" | cut -f1) KiB"

# --- one boot per mode ---------------------------------------------------------
failed=0
for mode in $MODES; do
  SOCK=$OUT/vhost-$mode.sock
  TRACE=$OUT/guest-$mode.trace
  CONSOLE=$OUT/console-$mode.log
  VLOG=$OUT/vhost-$mode.log
  rm -f "$SOCK" "$TRACE" "$CONSOLE"
  extra=""
  [ "$mode" = legacy ] && extra=",disable-modern=on"
  timeout $((QEMU_TIMEOUT + 30)) "$TOOL" vhost --socket "$SOCK" --record "$TRACE" >"$VLOG" 2>&1 &
  vpid=$!
  for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
  tb=$(date +%s.%N)
  rc=0
  timeout "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 512M -smp 1 -nodefaults -display none \
    -no-reboot -serial "file:$CONSOLE" \
    -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
    -chardev socket,id=c0,path="$SOCK" -netdev vhost-user,id=n0,chardev=c0 \
    -device "virtio-net-pci,netdev=n0,mrg_rxbuf=on,vectors=0$extra" \
    -kernel "$KERNEL" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 quiet rg.pings=$PINGS" >"$OUT/qemu-$mode.log" 2>&1 || rc=$?
  boot=$(echo "$(date +%s.%N) - $tb" | bc)
  vrc=0
  wait $vpid || vrc=$?
  stamp "$mode: qemu exit $rc after ${boot}s, vhost exit $vrc"
  # The serial console ends its lines with CR LF.
  tr -d '\r' <"$CONSOLE" >"$CONSOLE.txt" && mv "$CONSOLE.txt" "$CONSOLE"
  ok=1
  grep -a '^RG-FEATURES' "$CONSOLE" || { echo "$mode: no features line"; ok=0; }
  grep -a 'packets transmitted' "$CONSOLE" || true
  rxp=$(grep -a '^RG-STAT rx_packets' "$CONSOLE" | awk '{print $3}')
  recv=$(grep -a 'packets transmitted' "$CONSOLE" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  grep -aq '^RG-PING-RC 0' "$CONSOLE" || { echo "$mode: ping failed"; ok=0; }
  [ "${recv:-0}" = "$PINGS" ] || { echo "$mode: $PINGS pings sent, ${recv:-0} answered"; ok=0; }
  [ "${rxp:-0}" -ge "$PINGS" ] || { echo "$mode: guest rx_packets ${rxp:-0} < $PINGS"; ok=0; }
  grep -a '^RG-STAT' "$CONSOLE" | tr '\n' ' '; echo
  cat "$VLOG"
  if [ -s "$TRACE" ]; then
    if "$TOOL" replay "$TRACE" >"$OUT/replay-$mode.log" 2>&1; then
      echo "$mode: replay of $TRACE passes: $(tail -1 "$OUT/replay-$mode.log")"
    else
      echo "$mode: replay of $TRACE FAILED:"; head -30 "$OUT/replay-$mode.log"; ok=0
    fi
  else
    echo "$mode: no trace recorded"; ok=0
  fi
  if [ $ok = 1 ]; then stamp "$mode: PASS"; else stamp "$mode: FAIL (console: $CONSOLE)"; failed=1; fi
done
exit $failed
