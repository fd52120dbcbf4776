#!/usr/bin/env bash
# Starts virtlogd and libvirtd when qemu:///system is not answering (no systemd here).
# A daemon that already runs makes its second copy exit at once, so no pgrep (which would also
# count an unreaped zombie). Standard streams go to /dev/null: a daemon holding the caller's
# pipe would keep whoever reads it (CI, a test) waiting for an end of file that never comes.
set -euo pipefail
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  virtlogd -d </dev/null >/dev/null 2>&1 || true
  libvirtd -d </dev/null >/dev/null 2>&1 || true
  for _ in $(seq 75); do virsh -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 0.2; done
  echo "libvirtd did not come up (virtlogd -d; libvirtd -d)" >&2; exit 1
fi
