#!/usr/bin/env bash
# Installs the Debian 12 packages Understudy builds and tests with (idempotent; root).
set -euo pipefail

packages=(
  # build
  pkg-config libzstd-dev zlib1g-dev libsqlite3-dev libvirt-dev libguestfs-dev
  # run and test
  zstd openssl curl e2fsprogs dosfstools mtools fdisk util-linux cpio gzip kmod
  qemu-system-x86 qemu-utils libvirt-daemon-system libguestfs-tools ovmf
  xorriso isolinux pxelinux syslinux syslinux-common busybox-static
  qemu-guest-agent
  libvhdi-utils libvmdk-utils libqcow-utils
  systemd-boot-efi binutils xz-utils gcc
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null; then
  [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
  command -v swift >/dev/null || { echo "swift 6 is not installed (expected /opt/swift)" >&2; exit 1; }
fi
