#!/usr/bin/env bash
# The main job end to end on the embedded default (a local store): build, make a sample disk,
# capture it, change it, capture again, restore both points and show they match their sources.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift build -c release --product understudy 2>&1 | grep -E 'error|warning: |Compiling understudy|Build' || true
bin=$(swift build -c release --show-bin-path)/understudy
[ -x "$bin" ] || { echo "build failed" >&2; exit 1; }

work=${DEMO_DIR:-$(mktemp -d /tmp/understudy-demo.XXXX)}
export UNDERSTUDY_STORE=$work/store
echo "== working in $work (store: $UNDERSTUDY_STORE)"
python3 Benchmarks/make-disk.py "$work/disk.img" 256M --seed 1
cp --sparse=always "$work/disk.img" "$work/disk-A.img"

echo "== capture A"
a=$("$bin" capture demo "$work/disk.img")
python3 Benchmarks/make-disk.py mutate "$work/disk.img" --percent 1 --seed 2
cp --sparse=always "$work/disk.img" "$work/disk-B.img"
echo "== capture B (after 1% scattered 4 KiB writes)"
b=$("$bin" capture demo "$work/disk.img")
"$bin" points demo

echo "== restore both points and compare with their sources"
"$bin" restore demo "$work/restored-A.img" --point "$a" --force
"$bin" restore demo "$work/restored-B.img" --point "$b" --force
cmp "$work/restored-A.img" "$work/disk-A.img" && echo "point $a matches disk A"
cmp "$work/restored-B.img" "$work/disk-B.img" && echo "point $b matches disk B"
"$bin" verify --chunks
du -sh "$UNDERSTUDY_STORE/chunks" | sed 's/^/store chunks: /'
