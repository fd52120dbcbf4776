#!/bin/bash
# Build a small bootable BIOS/MBR (or UEFI/GPT) raw disk image without mounting anything.
#   make-boot-disk.sh OUT.img MARKER [SIZE_MIB]      (SIZE_MIB default 64)
# p1: FAT16 + syslinux + Debian kernel + busybox initramfs (bootable)
#     (FIXTURE_FIRMWARE=uefi: GPT; p1 an EFI System Partition holding
#     \EFI\BOOT\BOOTX64.EFI, a unified kernel image of the same kernel+initramfs)
# p2: ext4 with marker.txt = MARKER. The guest prints "UNDERSTUDY-MARKER: MARKER"
# and "login:" on ttyS0, then powers off (or sleeps with understudy.stay).
# Env: FIXTURE_CACHE (initramfs cache dir), FIXTURE_KERNEL_ARGS (extra cmdline,
# e.g. "understudy.stay", "understudy.listen=PORT:DELAY"), FIXTURE_FIRMWARE=bios|uefi
# (default bios), FIXTURE_AGENT=1 (bake Debian's qemu-ga into the initramfs and run it
# on the virtio port org.qemu.guest_agent.0).
# See README-boot-disk.md.
set -euo pipefail

die() { echo "make-boot-disk: $*" >&2; exit 1; }

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: make-boot-disk.sh OUT.img MARKER [SIZE_MIB]"
out=$1 marker=$2 size_mib=${3:-64}
case $size_mib in ''|*[!0-9]*) die "SIZE_MIB must be a whole number of MiB: $size_mib";; esac
case $marker in *$'\n'*|'') die "MARKER must be one non-empty line";; esac
firmware=${FIXTURE_FIRMWARE:-bios}
case $firmware in bios|uefi) ;; *) die "FIXTURE_FIRMWARE must be bios or uefi: $firmware";; esac
agent=${FIXTURE_AGENT:-0}
case $agent in 0|1) ;; *) die "FIXTURE_AGENT must be 0 or 1: $agent";; esac
qga=/usr/sbin/qemu-ga
[ "$agent" = 0 ] || [ -x "$qga" ] || die "missing $qga: apt-get install qemu-guest-agent"

# command -> Debian package that provides it
for pair in syslinux:syslinux mcopy:mtools mkfs.vfat:dosfstools sfdisk:fdisk \
            mkfs.ext4:e2fsprogs cpio:cpio gzip:gzip sha256sum:coreutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 ||
    die "missing '${pair%%:*}': apt-get install ${pair#*:}"
done
busybox=/bin/busybox
case $(LC_ALL=C ldd "$busybox" 2>&1 || true) in  # a dynamic one fails in the initramfs
  *"not a dynamic"*) ;; *) die "need a static $busybox: apt-get install busybox-static";;
esac
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -r "$mbr" ] || die "missing $mbr: apt-get install syslinux-common"
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
if [ "$firmware" = uefi ]; then
  command -v objcopy >/dev/null 2>&1 || die "missing 'objcopy': apt-get install binutils"
  [ -r "$stub" ] || die "missing $stub: apt-get install systemd-boot-efi"
fi

# Newest Debian kernel in /boot; its modules must match it, not the host's kernel.
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1) || true
[ -n "$kernel" ] || die "no /boot/vmlinuz-*: apt-get install linux-image-amd64"
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
[ -r "$moddir/modules.dep" ] || die "missing $moddir/modules.dep: apt-get install linux-image-$kver"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1

# --- initramfs, cached per kernel version and per revision of this script ---
cache=${FIXTURE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/understudy-fixtures}
mkdir -p "$cache"
if [ "$agent" = 1 ]; then
  rev=$(cat "$0" "$busybox" "$qga" | sha256sum | cut -c1-12)
  initrd=$cache/initrd-$kver-$rev-agent.gz
else
  rev=$(cat "$0" "$busybox" | sha256sum | cut -c1-12)
  initrd=$cache/initrd-$kver-$rev.gz
fi

# Copies module $1 and its dependencies (modules.dep order: the last loads first) into
# $root/lib/modules, appending to the list file $2 what is not there yet.
add_module() {
  local m=$1 list=$2 line dep base i
  local re="/${m//_/[-_]}\.ko(\.[gx]z|\.zst)?"
  grep -qE "$re\$" "$moddir/modules.builtin" 2>/dev/null && return 0   # built in
  line=$(grep -E "$re:" "$moddir/modules.dep") || die "module $m not in $moddir/modules.dep"
  local -a deps=(${line#*:}) order=()
  for ((i=${#deps[@]}-1; i>=0; i--)); do order+=("${deps[i]}"); done
  order+=("${line%%:*}")
  for dep in "${order[@]}"; do
    base=${dep##*/}
    base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
    grep -qxF "$base" "$root/lib/modules/load-order" "$list" 2>/dev/null && continue
    case $dep in
      *.ko.xz) xz -dc "$moddir/$dep" >"$root/lib/modules/$base";;
      *.ko.zst) zstd -qdc "$moddir/$dep" >"$root/lib/modules/$base";;
      *.ko.gz) gzip -dc "$moddir/$dep" >"$root/lib/modules/$base";;
      *) cp "$moddir/$dep" "$root/lib/modules/";;
    esac
    echo "$base" >>"$list"
  done
}

build_initrd() {
  local root=$work/initrd m line dep
  mkdir -p "$root"/{bin,dev,proc,sys,mnt,lib/modules}
  cp "$busybox" "$root/bin/busybox"
  for m in $("$busybox" --list); do [ "$m" = busybox ] || ln -s busybox "$root/bin/$m"; done
  # the kernel opens /dev/console for init before devtmpfs is mounted
  mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
  # crc32c_generic before ext4 (soft dependency; crc32c-intel fails under TCG).
  local m
  : >"$root/lib/modules/load-order"
  for m in virtio_pci virtio_blk virtio_scsi ahci ata_piix sd_mod nvme \
           crc32c_generic crct10dif_generic crc64_rocksoft_generic ext4; do
    add_module "$m" "$root/lib/modules/load-order"
  done
  # NICs: loaded only with understudy.listen= (qemu's pc default e1000, virtio-net).
  : >"$root/lib/modules/net-order"
  for m in virtio_net e1000 e1000e; do add_module "$m" "$root/lib/modules/net-order"; done
  cat >"$root/bin/udhcpc-script" <<'EOF'
#!/bin/sh
case $1 in
  deconfig) ifconfig "$interface" 0.0.0.0 up;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "$subnet" up
    [ -z "$router" ] || route add default gw "${router%% *}" dev "$interface" 2>/dev/null
    echo "UNDERSTUDY-NET: $interface $ip" >/dev/console;;
esac
EOF
  chmod 755 "$root/bin/udhcpc-script"
  if [ "$agent" = 1 ]; then
    add_module virtio_console "$root/lib/modules/load-order"
    mkdir -p "$root/sbin"
    cp "$qga" "$root/sbin/qemu-ga"
    # the libraries and the loader, at the paths ldd names (symlinks resolved)
    for lib in $(ldd "$qga" | grep -oE '/[^ ]+'); do
      mkdir -p "$root${lib%/*}"
      cp -L "$lib" "$root$lib"
    done
  fi
  cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
dmesg -n 1
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </lib/modules/load-order
say() {
  # /dev/console is ttyS0 with console=ttyS0: write once, never twice.
  echo "$1" >/dev/console 2>/dev/null
  grep -qw ttyS0 /sys/class/tty/console/active 2>/dev/null || echo "$1" >/dev/ttyS0 2>/dev/null
}
if [ -x /sbin/qemu-ga ]; then
  # the agent's port: the virtio-serial port whose name is org.qemu.guest_agent.0
  (
    for _ in $(seq 100); do
      for p in /sys/class/virtio-ports/*; do
        [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
        mkdir -p /var/run /tmp
        say "UNDERSTUDY-AGENT: /dev/${p##*/}"
        exec /sbin/qemu-ga -m virtio-serial -p "/dev/${p##*/}" -t /tmp -f /tmp/qemu-ga.pid
      done
      sleep 0.1
    done
    say "UNDERSTUDY-AGENT-NO-PORT"
  ) &
fi
for arg in $(cat /proc/cmdline); do
  case $arg in understudy.listen=*) listen=${arg#understudy.listen=};; esac
done
if [ -n "${listen:-}" ]; then
  # a server that takes a while to come up: DHCP on every NIC, then a web server on PORT after DELAY s
  (
    while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </lib/modules/net-order
    ifconfig lo 127.0.0.1 up
    mkdir -p /www && echo understudy >/www/index.html
    for _ in $(seq 50); do ls /sys/class/net | grep -qv '^lo$' && break; sleep 0.1; done
    for n in /sys/class/net/*; do
      [ "${n##*/}" = lo ] && continue
      ifconfig "${n##*/}" up
      udhcpc -q -n -t 10 -T 1 -i "${n##*/}" -s /bin/udhcpc-script >/dev/null 2>&1
    done
    sleep "${listen#*:}"
    httpd -p "${listen%%:*}" -h /www && say "UNDERSTUDY-LISTEN: ${listen%%:*}"
  ) &
fi
found= left=300
# Disks probe asynchronously (AHCI/SCSI slowest under TCG): poll up to 60 s,
# but only ~10 s more once some ext4 partition 2 turned out to lack the marker.
while [ "$left" -gt 0 ]; do
  for p in /sys/class/block/*; do
    [ "$(cat "$p/partition" 2>/dev/null)" = 2 ] || continue
    mount -t ext4 -o ro "/dev/${p##*/}" /mnt 2>/dev/null || continue
    if [ -f /mnt/marker.txt ]; then found=$(cat /mnt/marker.txt); umount /mnt; break 2; fi
    umount /mnt
    [ "$left" -le 50 ] || left=50
  done
  left=$((left - 1))
  sleep 0.2
done
if [ -n "$found" ]; then say "UNDERSTUDY-MARKER: $found"; else say "UNDERSTUDY-MARKER-MISSING"; fi
say "login:"
case " $(cat /proc/cmdline) " in
  *" understudy.stay "*) while :; do sleep 3600; done;;
esac
sync
poweroff -f
EOF
  chmod 755 "$root/init"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
    gzip -6 >"$initrd.tmp.$$"
  mv -f "$initrd.tmp.$$" "$initrd"   # atomic: parallel builds may share the cache
}
[ -s "$initrd" ] || build_initrd

# --- partition layout: p1 from 1 MiB, sized to fit kernel+initrd; p2 the rest ---
payload=$(( $(stat -c %s "$kernel") + $(stat -c %s "$initrd") ))
p1_mib=$(( (payload + 1048575) / 1048576 + 4 ))
[ "$p1_mib" -ge 16 ] || p1_mib=16
p2_start_mib=$(( 1 + p1_mib ))
p2_mib=$(( size_mib - p2_start_mib ))
# GPT keeps a backup table in the last 33 sectors: there p2 stops 1 MiB short of the end.
gpt_tail=0; [ "$firmware" = bios ] || gpt_tail=1
p2_mib=$(( p2_mib - gpt_tail ))
[ "$p2_mib" -ge 4 ] || die "SIZE_MIB $size_mib too small: need at least $(( p2_start_mib + 4 + gpt_tail ))"

cmdline="console=ttyS0,115200 panic=-1 ${FIXTURE_KERNEL_ARGS:-}"
p1=$work/p1.img
truncate -s "${p1_mib}M" "$p1"
if [ "$firmware" = bios ]; then
# p1: FAT16; -h = hidden sectors (partition start) so the boot sector matches.
mkfs.vfat -F 16 -h 2048 -n UNDERSTUDY "$p1" >/dev/null ||
  die "mkfs.vfat failed"
syslinux --install "$p1" || die "syslinux --install failed"
cat >"$work/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT understudy
PROMPT 0
TIMEOUT 0
LABEL understudy
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $cmdline
EOF
mcopy -i "$p1" "$kernel" ::vmlinuz
mcopy -i "$p1" "$initrd" ::initrd.gz
mcopy -i "$p1" "$work/syslinux.cfg" ::syslinux.cfg
else
# p1: EFI System Partition with a unified kernel image, made as the rescue ISO's is.
"$(dirname "$0")/../../bootimage/make-uki.sh" "$kernel" "$initrd" "$cmdline" "$work/BOOTX64.EFI" || die "make-uki.sh failed"
mkfs.vfat -F 16 -h 2048 -n UNDERSTUDY "$p1" >/dev/null || die "mkfs.vfat failed"
mmd -i "$p1" ::EFI ::EFI/BOOT
mcopy -i "$p1" "$work/BOOTX64.EFI" ::EFI/BOOT/BOOTX64.EFI
fi

# p2: ext4 populated from a folder; no lazy init so the guest never rewrites it.
mkdir "$work/p2"
printf '%s' "$marker" >"$work/p2/marker.txt"
p2=$work/p2.img
truncate -s "${p2_mib}M" "$p2"
mkfs.ext4 -q -F -L understudy-data -d "$work/p2" \
  -E lazy_itable_init=0,lazy_journal_init=0 "$p2" || die "mkfs.ext4 failed"

# --- assemble: table, MBR code, partitions (sparse) ---
img=$out.tmp.$$
trap 'rm -rf "$work" "$img"' EXIT
rm -f "$img"
truncate -s "${size_mib}M" "$img"
if [ "$firmware" = bios ]; then
sfdisk -q --no-reread --no-tell-kernel "$img" >/dev/null <<EOF || die "sfdisk failed"
label: dos
unit: sectors
start=2048, size=$(( p1_mib * 2048 )), type=e, bootable
start=$(( p2_start_mib * 2048 )), size=$(( p2_mib * 2048 )), type=83
EOF
dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none
else
sfdisk -q --no-reread --no-tell-kernel "$img" >/dev/null <<EOF || die "sfdisk failed"
label: gpt
unit: sectors
start=2048, size=$(( p1_mib * 2048 )), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
start=$(( p2_start_mib * 2048 )), size=$(( p2_mib * 2048 )), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="understudy-data"
EOF
fi
dd if="$p1" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$p2" of="$img" bs=1M seek="$p2_start_mib" conv=notrunc,sparse status=none
mv -f "$img" "$out"
