#!/bin/bash
# Builds the PXE tree for any TFTP server: pxelinux.0, ldlinux.c32, pxelinux.cfg/default, vmlinuz,
# initrd.img (BIOS clients; see README.md about UEFI network boot).
#   build-pxe.sh DIR KERNEL INITRD
# DIR is built aside and renamed into place; an existing DIR is replaced.
set -euo pipefail
me=build-pxe
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 3 ] || die "usage: build-pxe.sh DIR KERNEL INITRD"
dir=${1%/} kernel=$2 initrd=$3
need_file /usr/lib/PXELINUX/pxelinux.0 pxelinux
need_file /usr/lib/syslinux/modules/bios/ldlinux.c32 syslinux-common
[ ! -e "$dir" ] || [ -d "$dir" ] || die "$dir exists and is not a folder"

new=$dir.new.$$ old=$dir.old.$$
trap 'rm -rf "$new" "$old"' EXIT
mkdir -p "$new/pxelinux.cfg" || die "cannot create $new"
cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$new/"
cp "$kernel" "$new/vmlinuz"
cp "$initrd" "$new/initrd.img"
syslinux_cfg vmlinuz initrd.img >"$new/pxelinux.cfg/default"
chmod -R a+rX "$new"   # TFTP servers often run unprivileged
[ ! -e "$dir" ] || mv "$dir" "$old"
mv "$new" "$dir"
