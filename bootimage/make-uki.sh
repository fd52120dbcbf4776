#!/bin/bash
# Builds a unified kernel image: systemd's EFI stub with the kernel, initramfs and command line
# as PE sections, which UEFI firmware starts directly (no boot loader).
#   make-uki.sh KERNEL INITRD CMDLINE OUT.efi
# Sections follow systemd's UKI recipe: placed after the stub's own image, each at a 4 KiB-
# aligned address, never overlapping.
set -euo pipefail
me=make-uki
die() { echo "$me: $*" >&2; exit 1; }

[ $# -eq 4 ] || die "usage: make-uki.sh KERNEL INITRD CMDLINE OUT.efi"
kernel=$1 initrd=$2 cmdline=$3 out=$4
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
command -v objcopy >/dev/null 2>&1 || die "missing 'objcopy': apt-get install binutils"
[ -r "$stub" ] || die "missing $stub: apt-get install systemd-boot-efi"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'ID=understudy\nNAME="Understudy"\n' >"$work/os-release"
printf '%s' "$cmdline" >"$work/cmdline"
align=$(( 0x1000 ))
stub_end=0   # end of the stub's last section (VMA + size; objdump -h columns 3 and 4)
while read -r _ _ size vma _; do
  [ $(( 0x$vma + 0x$size )) -le "$stub_end" ] || stub_end=$(( 0x$vma + 0x$size ))
done < <(objdump -h -w "$stub" | grep -E '^ *[0-9]+ ')
[ "$stub_end" -gt 0 ] || die "cannot read section table of $stub"
vma=$(( (stub_end + align - 1) / align * align ))
sections=()
for pair in .osrel:"$work/os-release" .cmdline:"$work/cmdline" .linux:"$kernel" .initrd:"$initrd"; do
  name=${pair%%:*} file=${pair#*:}
  sections+=(--add-section "$name=$file" --change-section-vma "$name=$(printf 0x%x "$vma")")
  vma=$(( (vma + $(stat -c %s "$file") + align - 1) / align * align ))
done
objcopy "${sections[@]}" "$stub" "$out" || die "objcopy failed"
