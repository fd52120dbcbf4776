#!/bin/bash
# Copies kernel modules and everything they depend on into a folder, in load order.
#   kernel-modules.sh MODDIR DEST MODULE...
# MODDIR is /lib/modules/KVER. A MODULE written ?NAME is optional: skipped when the kernel has
# no such module. Built-in modules are skipped. Compressed modules (.ko.xz/.zst/.gz) are stored
# decompressed, so busybox insmod loads them. DEST/load-order lists the files, one a line, in
# the order to insmod them (dependencies first).
set -euo pipefail
me=kernel-modules
die() { echo "$me: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: kernel-modules.sh MODDIR DEST MODULE..."
moddir=$1 dest=$2
shift 2
[ -r "$moddir/modules.dep" ] || die "missing $moddir/modules.dep (is the matching linux-image package installed?)"
mkdir -p "$dest"

order=()
for want in "$@"; do
  m=${want#\?}
  re="/${m//_/[-_]}\.ko(\.[gx]z|\.zst)?"
  grep -qE "$re\$" "$moddir/modules.builtin" 2>/dev/null && continue   # built in
  if ! line=$(grep -E "$re:" "$moddir/modules.dep"); then
    [ "$want" != "$m" ] && continue                                    # optional, absent
    die "module $m not in $moddir/modules.dep"
  fi
  # modules.dep lists dependencies so that the last one loads first
  read -r -a deps <<<"${line#*:}"
  for ((i=${#deps[@]}-1; i>=0; i--)); do order+=("${deps[i]}"); done
  order+=("${line%%:*}")
done

: >"$dest/load-order"
for dep in "${order[@]}"; do
  base=${dep##*/}
  base=${base%.xz} base=${base%.zst} base=${base%.gz}
  grep -qxF "$base" "$dest/load-order" && continue
  case $dep in
    *.ko.xz) xz -dc "$moddir/$dep" >"$dest/$base";;
    *.ko.zst) zstd -qdc "$moddir/$dep" >"$dest/$base";;
    *.ko.gz) gzip -dc "$moddir/$dep" >"$dest/$base";;
    *) cp "$moddir/$dep" "$dest/$base";;
  esac
  echo "$base" >>"$dest/load-order"
done
