#!/usr/bin/env bash
# The main job end to end on the embedded default (a local store, local libvirt): a small bootable
# server disk is captured; a standby VM is built from it and failed over to (time to ready
# printed); the server changes and is captured again; the nightly build updates the standby
# incrementally; a boot test proves it on a disposable copy; a qcow2 restore is compared.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
scripts/start-libvirt.sh
# The debug build: the one the tests use (so running both commands builds once), and on a
# 2-core machine it compiles in about half the time of a release build; the demo's disk is small.
swift build --product understudy 2>&1 | grep -E 'error|warning: |Build' || true
bin=$(swift build --show-bin-path)/understudy
[ -x "$bin" ] || { echo "build failed" >&2; exit 1; }

work=${DEMO_DIR:-/tmp/understudy-demo}
rm -rf "$work"; mkdir -p "$work"; chmod 755 "$work"
export UNDERSTUDY_STORE=$work/store
machine=demo-web1
virsh -c qemu:///system destroy "$machine" >/dev/null 2>&1 || true
virsh -c qemu:///system undefine "$machine" >/dev/null 2>&1 || true
step() { printf '\n== %s\n' "$*"; }

step "a bootable 'server' disk whose console prints a marker (Tests/Fixtures/make-boot-disk.sh)"
FIXTURE_KERNEL_ARGS=understudy.stay Tests/Fixtures/make-boot-disk.sh "$work/server.img" "release-1"
step "capture it: point A"
"$bin" capture "$machine" "$work/server.img"
"$bin" machine set "$machine" --cpus 1 --memory 256 -q
step "build the standby (qcow2 + libvirt domain, defined, not started)"
"$bin" standby build "$machine"
step "failover: start the standby, wait for its console to say login:"
"$bin" failover "$machine" --timeout 180
grep -a "UNDERSTUDY-MARKER" "$work/store/standby/$machine/serial.log" || true
virsh -c qemu:///system destroy "$machine" >/dev/null

step "the server changes; capture point B; the nightly build updates the standby incrementally"
start=$(sfdisk -d "$work/server.img" | awk -F'[=,]' '/start=/{n++; if (n==2) print $2+0}')
size=$(sfdisk -d "$work/server.img" | awk -F'[=,]' '/start=/{n++; if (n==2) print $4+0}')
dd if="$work/server.img" of="$work/p2" bs=512 skip="$start" count="$size" status=none
printf release-2 > "$work/marker"
debugfs -w -R 'rm marker.txt' "$work/p2" >/dev/null 2>&1
debugfs -w -R "write $work/marker marker.txt" "$work/p2" >/dev/null 2>&1
dd if="$work/p2" of="$work/server.img" bs=512 seek="$start" conv=notrunc status=none
"$bin" capture "$machine" "$work/server.img"
"$bin" standby build "$machine" --discard-changes
step "verify: boot a disposable copy, screenshot, record time to ready"
"$bin" verify "$machine" --timeout 180
"$bin" standby list
step "restore point B as qcow2 and compare it with the server disk (qemu-img)"
"$bin" restore "$machine" "$work/restored.qcow2" --format qcow2
qemu-img compare "$work/restored.qcow2" "$work/server.img"
"$bin" points "$machine"
"$bin" verify --chunks
