#!/bin/bash
# Builds the rescue initramfs: static busybox, the kernel modules of modules.list (with their
# dependencies), understudy-rescue with every shared library ldd lists and the dynamic loader,
# /init, the udhcpc script and the baked settings.
#   build-initramfs.sh OUT.img RESCUE-BINARY KERNEL [CONFIG]
# KERNEL is a /boot/vmlinuz-VERSION; its modules come from /lib/modules/VERSION. CONFIG is the
# settings file installed as /etc/understudy.conf (KEY=VALUE lines, see README.md).
# OUT.img is a zstd-compressed newc cpio (gzip when zstd is missing), written atomically.
set -euo pipefail
me=build-initramfs
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: build-initramfs.sh OUT.img RESCUE-BINARY KERNEL [CONFIG]"
out=$1 rescue=$2 kernel=$3 config=${4:-}
need cpio cpio
need ldd libc-bin
need xz xz-utils
busybox=/bin/busybox
[ -x "$busybox" ] || die "missing $busybox: apt-get install busybox-static"
case $(LC_ALL=C ldd "$busybox" 2>&1 || true) in  # a dynamic one cannot run without its libraries
  *"not a dynamic"*) ;; *) die "need a static $busybox: apt-get install busybox-static";;
esac
[ -f "$rescue" ] && [ -x "$rescue" ] || die "rescue binary $rescue is not an executable file"
[ -r "$kernel" ] || die "cannot read kernel $kernel"
kver=$(kernel_version "$kernel")
moddir=/lib/modules/$kver
[ -r "$moddir/modules.dep" ] || die "missing $moddir/modules.dep: apt-get install linux-image-$kver"
[ -z "$config" ] || [ -r "$config" ] || die "cannot read settings file $config"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,root,etc,lib/modules}

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"; done
# the kernel opens /dev/console for init before devtmpfs is mounted
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

grep -v '^#' "$here/modules.list" | tr -s ' \n' '\n' | grep . >"$work/modules"
"$here/kernel-modules.sh" "$moddir" "$root/lib/modules" $(cat "$work/modules")

# the client and its shared libraries, each at the path ldd resolves (the loader's too)
# stripped: symbols and debug info are a fifth of a static-stdlib Swift binary
strip -o "$root/bin/understudy-rescue" "$rescue" 2>/dev/null || cp "$rescue" "$root/bin/understudy-rescue"
chmod 755 "$root/bin/understudy-rescue"
ldd_out=$(LC_ALL=C ldd "$rescue" 2>&1) || true
case $ldd_out in
  *"not a dynamic"*|*"statically linked"*) ;;
  *"not found"*) die "ldd $rescue: a library is missing: $(grep 'not found' <<<"$ldd_out" | head -n 1 | xargs)";;
  *)
    for lib in $(grep -oE '(^[[:space:]]*|=> )/[^ ]+' <<<"$ldd_out" | sed -E 's/^(=> |[[:space:]]+)//'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done;;
esac

cp "$here/init" "$root/init"
cp "$here/run-rescue" "$root/bin/run-rescue"
mkdir -p "$root/etc/ssl/certs"
cp "$here/udhcpc.script" "$root/etc/udhcpc.script"
chmod 755 "$root/init" "$root/bin/run-rescue" "$root/etc/udhcpc.script"
[ -z "$config" ] || install -m 600 "$config" "$root/etc/understudy.conf"
# name resolution and TLS for the client (glibc 2.36 has files and dns built in)
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost understudy-rescue\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf "PS1='rescue# '\n" >"$root/etc/profile"
[ ! -r /etc/ssl/certs/ca-certificates.crt ] || cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"

if command -v zstd >/dev/null 2>&1; then compress=(zstd -q -T0 -10 -c); else compress=(gzip -6 -c); fi
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | "${compress[@]}" >"$work/initrd"
mv -f "$work/initrd" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
