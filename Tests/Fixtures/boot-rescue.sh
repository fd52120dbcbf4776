#!/bin/bash
# Boots a rescue image (ISO, disk, PXE or -kernel/-initrd) under qemu (TCG) until the guest powers
# off, and prints the guest's result line ("UNDERSTUDY-RESCUE: OK" / "... FAILED (exit N)").
#   boot-rescue.sh LOG QEMU-ARGS...      (the serial console is written to LOG)
# Env: RESCUE_TIMEOUT (seconds, default 90), RESCUE_FIRMWARE=bios|uefi (default bios),
#      RESCUE_TYPE=1 types RESCUE_KEYS (default nothing) and Enter on the serial console every
#      2 s (interactive mode, shell), RESCUE_UNTIL=REGEX stops the guest once the serial log
#      matches it (extended grep) instead of waiting for it to power off.
# The caller gives the network (-nic user,... only: it never leaves qemu's user-mode stack).
# Exit 0 with the result line on stdout once the guest printed one and powered off; otherwise a
# message and the last serial lines on stderr, exit 1.
set -euo pipefail

die() { echo "boot-rescue: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: boot-rescue.sh LOG QEMU-ARGS..."
log=$1
shift
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "missing qemu-system-x86_64: apt-get install qemu-system-x86"
timeout_s=${RESCUE_TIMEOUT:-90}

work=$(mktemp -d)
qpid= fpid=
# SIGKILL: a parent such as a test runner's Foundation.Process may pass on a signal mask that
# blocks SIGTERM, and qemu would never see it.
cleanup() {
  if [ -n "$fpid" ]; then kill -9 "$fpid" 2>/dev/null || true; wait "$fpid" 2>/dev/null || true; fi
  if [ -n "$qpid" ]; then kill -9 "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
: >"$log"

firmware=()
case ${RESCUE_FIRMWARE:-bios} in
  bios) ;;
  uefi)
    for f in /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_VARS.fd; do
      [ -r "$f" ] || die "missing $f: apt-get install ovmf"
    done
    cp /usr/share/OVMF/OVMF_VARS.fd "$work/vars.fd"
    firmware=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd
              -drive "if=pflash,format=raw,file=$work/vars.fd");;
  *) die "RESCUE_FIRMWARE must be bios or uefi";;
esac

# KVM hangs on these hosts: TCG only. SeaBIOS's debug port reports "No bootable device".
qemu=(qemu-system-x86_64 -accel tcg -m 512 -display none -no-reboot -monitor none
      -chardev "file,id=seabios,path=$work/bios.log" -device isa-debugcon,iobase=0x402,chardev=seabios
      "${firmware[@]}" "$@")
if [ "${RESCUE_TYPE:-0}" = 1 ]; then
  mkfifo "$work/keys"
  "${qemu[@]}" -serial stdio <"$work/keys" >"$log" 2>"$work/qemu.err" &
  qpid=$!
  (exec 3>"$work/keys"; while kill -0 "$qpid" 2>/dev/null; do sleep 2; printf '%s\r' "${RESCUE_KEYS:-}" >&3 || exit 0; done) >/dev/null 2>&1 &
  fpid=$!
else
  "${qemu[@]}" -serial "file:$log" </dev/null >/dev/null 2>"$work/qemu.err" &
  qpid=$!
fi

fail() {
  echo "boot-rescue: $*" >&2
  echo "--- last serial lines ($log) ---" >&2
  tr -d '\r' <"$log" | grep -av '^$' | tail -n 25 >&2 || true
  tail -n 5 "$work/qemu.err" >&2 || true
  exit 1
}

deadline=$(( SECONDS + timeout_s ))
while kill -0 "$qpid" 2>/dev/null; do
  grep -aq 'No bootable device' "$work/bios.log" "$log" 2>/dev/null && fail "No bootable device"
  grep -aq 'Kernel panic' "$log" && fail "kernel panic (did /init die?)"
  if [ -n "${RESCUE_UNTIL:-}" ] && tr -d '\r' <"$log" | grep -aqE "$RESCUE_UNTIL"; then
    kill -9 "$qpid" 2>/dev/null || true
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${timeout_s}s"
  sleep 0.5
done
wait "$qpid" 2>/dev/null && rc=0 || rc=$?
qpid=
result=$(tr -d '\r' <"$log" | grep -a -m1 '^UNDERSTUDY-RESCUE: ' || true)
[ -n "$result" ] || fail "qemu exited (status $rc) without a result line"
echo "$result"
