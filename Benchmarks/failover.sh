#!/usr/bin/env bash
# Standby benchmarks (issue #4), on the bootable fixture disk under TCG:
#  - failover overhead = `understudy failover` time to ready − the same guest's boot time under
#    plain qemu-system-x86_64 (time to its `login:` line), target ≤ 5 s;
#  - nightly standby build after a 1 % change / a full standby build, target ≤ 0.05.
# Usage: Benchmarks/failover.sh [WORKDIR] [BIN]     (root; starts libvirtd if needed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/tmp/understudy-bench-failover}
bin=${2:-$here/../.build/release/understudy}
[ -x "$bin" ] || { echo "build first: swift build -c release" >&2; exit 1; }
"$here/../scripts/start-libvirt.sh"
rm -rf "$work"; mkdir -p "$work"; chmod 755 "$work"
export UNDERSTUDY_STORE=$work/store
m=bench-failover
virsh -c qemu:///system destroy $m >/dev/null 2>&1 || true
virsh -c qemu:///system undefine $m >/dev/null 2>&1 || true
now() { date +%s.%N; }
FIXTURE_KERNEL_ARGS=understudy.stay "$here/../Tests/Fixtures/make-boot-disk.sh" "$work/disk.img" A 1024
"$bin" capture $m "$work/disk.img" -q >/dev/null
"$bin" machine set $m --cpus 1 --memory 256 -q

# Plain qemu: the guest's own boot time (3 runs, median).
plain=()
for _ in 1 2 3; do
  t0=$(now); FIXTURE_DISK_IF=virtio "$here/../Tests/Fixtures/boot-test.sh" "$work/disk.img" raw >/dev/null; plain+=("$(echo "$(now) - $t0" | bc)")
done
t0=$(now); "$bin" standby build $m -q; full=$(echo "$(now) - $t0" | bc)
rto=()
for _ in 1 2 3; do
  r=$("$bin" failover $m --timeout 300 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secondsToReady"])')
  rto+=("$r")
  virsh -c qemu:///system destroy $m >/dev/null
  "$bin" standby build $m -q --discard-changes >/dev/null
done
# 1 % of the disk changes (a new file in its data partition), then the nightly build.
start=$(sfdisk -d "$work/disk.img" | awk -F'[=,]' '/start=/{n++; if (n==2) print $2+0}')
size=$(sfdisk -d "$work/disk.img" | awk -F'[=,]' '/start=/{n++; if (n==2) print $4+0}')
dd if="$work/disk.img" of="$work/p2" bs=512 skip="$start" count="$size" status=none
head -c $(( $(stat -c %s "$work/disk.img") / 100 )) /dev/urandom > "$work/blob"
debugfs -w -R "write $work/blob blob.bin" "$work/p2" >/dev/null 2>&1
dd if="$work/p2" of="$work/disk.img" bs=512 seek="$start" conv=notrunc status=none
"$bin" capture $m "$work/disk.img" -q >/dev/null
t0=$(now); "$bin" standby build $m -q --discard-changes; nightly=$(echo "$(now) - $t0" | bc)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p=$(median "${plain[@]}"); f=$(median "${rto[@]}")
echo "| measurement | value | target |"
echo "|---|---|---|"
echo "| guest boot under plain qemu (TCG), to its login: line, median of 3 | ${p} s (${plain[*]}) | |"
echo "| understudy failover time to ready, median of 3 | ${f} s (${rto[*]}) | |"
echo "| failover overhead | $(echo "$f - $p" | bc) s | ≤ 5 s |"
echo "| full standby build (1 GiB fixture disk) | ${full} s | |"
echo "| nightly build after a 1 % change | ${nightly} s = $(echo "scale=3; $nightly / $full" | bc) × full | ≤ 0.05 |"
virsh -c qemu:///system undefine $m >/dev/null 2>&1 || true
