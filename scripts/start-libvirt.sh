#!/usr/bin/env bash
# Starts virtlogd and libvirtd when qemu:///system is not answering (no systemd here).
set -euo pipefail
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
  for _ in $(seq 50); do virsh -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 0.2; done
  echo "libvirtd did not come up" >&2; exit 1
fi
