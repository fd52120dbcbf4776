#!/bin/bash
# Builds the Understudy rescue boot images: a hybrid ISO (BIOS + UEFI, CD + USB) and/or a PXE tree.
#   make-bootimage.sh [--iso OUT.iso] [--pxe DIR] --rescue-binary PATH [--kernel /boot/vmlinuz-V]
#                     [--server URL] [--token T] [--machine M] [--point ID|latest] [--target DEV]
#                     [--done poweroff|reboot|shell]
# The settings are baked into the initramfs; the kernel command line overrides them at boot
# (understudy.KEY=VALUE). BOOTIMAGE_TOKEN in the environment may carry the token instead of
# --token (keeps it out of ps). Prints one line per image built; errors: one line, exit 1.
set -euo pipefail
me=bootimage
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

iso= pxe= rescue= kernel= server= token=${BOOTIMAGE_TOKEN:-} machine= point= target= done=
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case $1 in
    --iso) iso=$2;; --pxe) pxe=$2;; --rescue-binary) rescue=$2;; --kernel) kernel=$2;;
    --server) server=$2;; --token) token=$2;; --machine) machine=$2;; --point) point=$2;;
    --target) target=$2;; --done) done=$2;;
    *) die "unknown option $1";;
  esac
  shift 2
done
[ -n "$iso$pxe" ] || die "nothing to build: give --iso OUT.iso and/or --pxe DIR"
[ -n "$rescue" ] || die "--rescue-binary is required"
case $server in ''|http://?*|https://?*) ;; *) die "--server must be an http:// or https:// URL: $server";; esac
case $done in ''|poweroff|reboot|shell) ;; *) die "--done must be poweroff, reboot or shell: $done";; esac
for pair in server:"$server" token:"$token" machine:"$machine" point:"$point" target:"$target"; do
  case ${pair#*:} in *[[:space:]]*) die "--${pair%%:*} must not contain spaces (it travels on the kernel command line)";; esac
done
for out in ${iso:+"$iso"} ${pxe:+"$pxe"}; do
  parent=$(dirname "$out")
  [ -d "$parent" ] || die "cannot write $out: folder $parent does not exist"
  probe=$(mktemp -p "$parent" .understudy-probe.XXXXXX 2>/dev/null) ||
    die "cannot write $out: folder $parent is not writable"
  rm -f "$probe"
done
[ -z "$iso" ] || [ ! -d "$iso" ] || die "--iso $iso is a folder; give a file name"
[ -n "$kernel" ] || kernel=$(default_kernel)
[ -r "$kernel" ] || die "cannot read kernel $kernel"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "# Understudy rescue settings baked by make-bootimage.sh; the kernel command line overrides them."
  for pair in server:"$server" token:"$token" machine:"$machine" point:"$point" target:"$target" done:"$done"; do
    [ -z "${pair#*:}" ] || echo "${pair%%:*}=${pair#*:}"
  done
} >"$work/understudy.conf"

"$here/build-initramfs.sh" "$work/initrd.img" "$rescue" "$kernel" "$work/understudy.conf"
if [ -n "$iso" ]; then
  "$here/make-uki.sh" "$kernel" "$work/initrd.img" "$boot_cmdline" "$work/BOOTX64.EFI"
  "$here/build-iso.sh" "$iso" "$kernel" "$work/initrd.img" "$work/BOOTX64.EFI"
  echo "iso: $iso ($(( $(stat -c %s "$iso") / 1048576 )) MiB, kernel $(kernel_version "$kernel"))"
fi
if [ -n "$pxe" ]; then
  "$here/build-pxe.sh" "$pxe" "$kernel" "$work/initrd.img"
  echo "pxe: $pxe (pxelinux.0, kernel $(kernel_version "$kernel"))"
fi
