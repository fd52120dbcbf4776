#!/bin/bash
# Boot a fixture disk under qemu (TCG) and print the marker the guest reports.
#   boot-test.sh IMAGE [FORMAT] [EXTRA-QEMU-ARGS...]     (FORMAT default raw)
# Env: FIXTURE_DISK_IF=virtio|ide|sata|scsi|nvme (default virtio),
#      FIXTURE_TIMEOUT (seconds, default 120), FIXTURE_LOG (keep serial log here),
#      FIXTURE_FIRMWARE=bios|uefi (default bios; uefi boots through OVMF).
# stdout: the marker text; exit 0. Otherwise a message on stderr and exit 1.
set -euo pipefail

die() { echo "boot-test: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: boot-test.sh IMAGE [FORMAT] [EXTRA-QEMU-ARGS...]"
image=$1 format=${2:-raw}
shift $(( $# >= 2 ? 2 : 1 ))
[ -r "$image" ] || die "cannot read image: $image"
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
  die "missing qemu-system-x86_64: apt-get install qemu-system-x86"
timeout_s=${FIXTURE_TIMEOUT:-120}

work=$(mktemp -d)
qpid=
cleanup() {
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
log=${FIXTURE_LOG:-$work/serial.log}
dbg=$work/seabios.log
: >"$log"

# snapshot=on: the guest can never modify the image under test.
drive="file=$image,format=$format,snapshot=on"
case ${FIXTURE_DISK_IF:-virtio} in
  virtio) disk=(-drive "$drive,if=virtio");;
  ide)    disk=(-drive "$drive,if=ide");;
  sata)   disk=(-drive "$drive,if=none,id=d0" -device ahci,id=ahci0
                -device ide-hd,drive=d0,bus=ahci0.0);;
  scsi)   disk=(-drive "$drive,if=none,id=d0" -device virtio-scsi-pci,id=scsi0
                -device scsi-hd,drive=d0,bus=scsi0.0);;
  nvme)   disk=(-drive "$drive,if=none,id=d0" -device nvme,serial=understudy,drive=d0);;
  *) die "FIXTURE_DISK_IF must be virtio, ide, sata, scsi or nvme";;
esac

# UEFI: OVMF code read-only, plus a throwaway copy of the variable store.
firmware=()
case ${FIXTURE_FIRMWARE:-bios} in
  bios) ;;
  uefi)
    for f in /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_VARS.fd; do
      [ -r "$f" ] || die "missing $f: apt-get install ovmf"
    done
    cp /usr/share/OVMF/OVMF_VARS.fd "$work/vars.fd"
    firmware=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd
              -drive "if=pflash,format=raw,file=$work/vars.fd");;
  *) die "FIXTURE_FIRMWARE must be bios or uefi";;
esac

# KVM hangs on these hosts (see TESTING.md): TCG only. SeaBIOS's debug port
# tells us about "No bootable device", which it otherwise retries forever.
qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -monitor none \
  -serial "file:$log" \
  -chardev "file,id=seabios,path=$dbg" -device isa-debugcon,iobase=0x402,chardev=seabios \
  -net none "${firmware[@]}" "${disk[@]}" "$@" </dev/null >"$work/qemu.out" 2>&1 &
qpid=$!

fail() {
  echo "boot-test: $*" >&2
  echo "--- last serial lines${FIXTURE_LOG:+ ($log)} ---" >&2
  tail -n 25 "$log" | tr -d '\r' >&2 || true
  grep -v '^$' "$work/qemu.out" | tail -n 5 >&2 || true
  exit 1
}

# "login:" follows the marker line, so once it is there the marker line is complete.
verdict() {
  tr -d '\r' <"$log" >"$work/clean"
  grep -aq '^login:' "$work/clean" || return 0
  line=$(grep -a -m1 '^UNDERSTUDY-MARKER' "$work/clean" || true)
  case $line in
    "UNDERSTUDY-MARKER: "*) printf '%s\n' "${line#UNDERSTUDY-MARKER: }"; exit 0;;
    UNDERSTUDY-MARKER-MISSING*) fail "guest booted but found no marker.txt on a partition 2";;
    *) fail "guest printed login: without a marker line";;
  esac
}

deadline=$(( SECONDS + timeout_s ))
while :; do
  alive=1; kill -0 "$qpid" 2>/dev/null || alive=0   # before reading the log: no race
  verdict
  if grep -aq 'No bootable device' "$dbg" "$work/clean" 2>/dev/null; then
    fail "SeaBIOS: No bootable device ($image, format $format, if ${FIXTURE_DISK_IF:-virtio})"
  fi
  if [ "$alive" = 0 ]; then
    wait "$qpid" && rc=0 || rc=$?
    qpid=
    fail "qemu exited (status $rc) without reporting a marker"
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${timeout_s}s"
  sleep 0.5
done
