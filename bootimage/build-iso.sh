#!/bin/bash
# Builds the hybrid rescue ISO: boots as a CD and, written to a USB stick or disk with dd, as a
# disk; BIOS through isolinux, UEFI through an El Torito EFI image (FAT) holding the unified
# kernel image as \EFI\BOOT\BOOTX64.EFI (also reachable as a GPT partition on USB).
#   build-iso.sh OUT.iso KERNEL INITRD UKI.efi
# OUT.iso is written to a temporary file and renamed into place.
set -euo pipefail
me=build-iso
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 4 ] || die "usage: build-iso.sh OUT.iso KERNEL INITRD UKI.efi"
out=$1 kernel=$2 initrd=$3 uki=$4
need xorriso xorriso
need mkfs.vfat dosfstools
need mcopy mtools
need_file /usr/lib/ISOLINUX/isolinux.bin isolinux
need_file /usr/lib/ISOLINUX/isohdpfx.bin isolinux
need_file /usr/lib/syslinux/modules/bios/ldlinux.c32 syslinux-common
export MTOOLS_SKIP_CHECK=1

work=$(mktemp -d)
trap 'rm -rf "$work" "$out.tmp.$$"' EXIT
tree=$work/tree
mkdir -p "$tree/isolinux" "$tree/live" "$tree/boot"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$tree/isolinux/"
cp "$kernel" "$tree/live/vmlinuz"
cp "$initrd" "$tree/live/initrd.img"
syslinux_cfg /live/vmlinuz /live/initrd.img >"$tree/isolinux/isolinux.cfg"

# EFI image: FAT sized to the unified kernel image plus room for the file system itself
kib=$(( $(stat -c %s "$uki") / 1024 + 1024 ))
mkfs.vfat -C -n UNDERSTUDY "$tree/boot/efi.img" "$kib" >/dev/null || die "mkfs.vfat failed"
mmd -i "$tree/boot/efi.img" ::EFI ::EFI/BOOT
mcopy -i "$tree/boot/efi.img" "$uki" ::EFI/BOOT/BOOTX64.EFI

xorriso -as mkisofs -quiet -o "$out.tmp.$$" -V UNDERSTUDY_RESCUE -J -r \
  -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  -eltorito-alt-boot -e boot/efi.img -no-emul-boot -isohybrid-gpt-basdat \
  "$tree" 2>"$work/xorriso.log" || die "xorriso failed: $(tail -n 3 "$work/xorriso.log")"
mv -f "$out.tmp.$$" "$out"
