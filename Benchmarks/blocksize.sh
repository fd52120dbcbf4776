#!/usr/bin/env bash
# Evidence for the default block size (docs/decisions.md): for each block size, on the same
# synthetic disk, first-capture time, dedup (data bytes / unique bytes stored), bytes stored after
# 1% scattered 4 KiB writes, and index pages (metadata) written by that second point.
# Usage: Benchmarks/blocksize.sh [SIZE] [WORKDIR] [BIN]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
size=${1:-1G}
work=${2:-$here/../bench-work/blocksize}
bin=${3:-$here/../.build/release/understudy}
[ -x "$bin" ] || { echo "build first: swift build -c release" >&2; exit 1; }
mkdir -p "$work"
python3 "$here/make-disk.py" "$work/disk.img" "$size" --seed 7 2>/dev/null
cp --sparse=always "$work/disk.img" "$work/mutated.img"
python3 "$here/make-disk.py" mutate "$work/mutated.img" --percent 1 --seed 8 2>/dev/null
disk_bytes=$(stat -c %s "$work/disk.img")
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "| block size | first capture s | data / unique stored (dedup) | stored after 1% writes | % of disk | index pages of that point | pages per point, bytes |"
echo "|---|---|---|---|---|---|---|"
for bs in 64K 128K 256K 1M 4M; do
  store="$work/store-$bs"
  rm -rf "$store"
  "$bin" init --store "$store" >/dev/null
  cat "$work/disk.img" >/dev/null
  start=$(date +%s.%N)
  "$bin" capture m "$work/disk.img" --store "$store" --block-size "$bs" --json >"$work/p1.json"
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  "$bin" capture m "$work/mutated.img" --store "$store" --json >"$work/p2.json"
  bsb=$(field "$work/p1.json" blockSize)
  data=$(( $(field "$work/p1.json" dataBlocks) * bsb ))
  unique=$(field "$work/p1.json" newBytes)
  stored2=$(field "$work/p2.json" storedBytes)
  pages=$(field "$work/p2.json" indexPages)
  printf '| %s | %.2f | %.3f | %s | %.2f%% | %s | %s |\n' "$bs" "$secs" "$(echo "$data / $unique" | bc -l)" \
    "$stored2" "$(echo "100 * $stored2 / $disk_bytes" | bc -l)" "$pages" "$(( pages * 32768 ))"
  rm -rf "$store"
done
