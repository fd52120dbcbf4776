#!/usr/bin/env bash
# Rescue restore benchmarks (issue #5), release build, on this machine only:
#  1. loopback: understudy-rescue from `understudy serve --listen` vs curl of the raw restored
#     image from `python3 -m http.server`, into the same target file (target >= 1.5x faster);
#  2. a 100 Mbit/s link: server and client in two network namespaces of our own joined by a
#     veth pair (link-local 169.254.77.0/24, tc tbf on both ends; nothing touches the host's
#     interfaces): restore time vs stored unique bytes / link rate (target <= 1.1x).
#
#   Benchmarks/rescue.sh [--size 4G] [--rate-mbit 100] [--work DIR] [--bin DIR]
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
SIZE=4G RATE=100 WORK=$REPO/bench-work/rescue BIN=""
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=$2; shift 2;; --rate-mbit) RATE=$2; shift 2;;
    --work) WORK=$2; shift 2;; --bin) BIN=$2; shift 2;;
    *) echo "usage: $0 [--size 4G] [--rate-mbit 100] [--work DIR] [--bin DIR]" >&2; exit 2;;
  esac
done
if [ -z "$BIN" ]; then
  (cd "$REPO" && swift build -c release --product understudy >/dev/null && swift build -c release --product understudy-rescue >/dev/null)
  BIN=$REPO/.build/release
fi
U=$BIN/understudy R=$BIN/understudy-rescue
mkdir -p "$WORK"; cd "$WORK"
export UNDERSTUDY_STORE=$WORK/store
STORE=$WORK/store DISK=$WORK/disk.img RAW=$WORK/raw.img TARGET=$WORK/target.img
NS_S=us-bench-srv NS_C=us-bench-cli
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del $NS_S 2>/dev/null || true; ip netns del $NS_C 2>/dev/null || true
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

[ -s "$DISK" ] || python3 "$SCRIPT_DIR/make-disk.py" --seed 7 "$DISK" "$SIZE"
rm -rf "$STORE"
"$U" capture bench "$DISK" -q >/dev/null
"$U" restore bench "$RAW" -q
TOKEN=$("$U" token create --name bench -q)
DISK_BYTES=$(stat -c %s "$DISK")

serve() {  # serve [netns] ADDR: starts the server, sets URL and SERVER_PID
  local out=$WORK/serve.out; : >"$out"
  ${1:+ip netns exec $1} "$U" serve --listen "$2:0" --duration 3600 -q >"$out" 2>&1 &
  SERVER_PID=$!; pids+=($SERVER_PID)
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$out" | head -1)
  [ -n "$URL" ] || { echo "serve did not start: $(cat "$out")" >&2; exit 1; }
}

rescue_run() {  # rescue_run [netns] URL -> seconds; leaves the JSON report in rescue.json
  rm -f "$TARGET" "$TARGET.rescue-journal"; sync
  local t0 t1; t0=$(now)
  ${1:+ip netns exec $1} "$R" --server "$2" --token "$TOKEN" --machine bench --target "$TARGET" --json >"$WORK/rescue.json" 2>/dev/null
  t1=$(now); elapsed "$t0" "$t1"
}

# 1. loopback
serve "" 127.0.0.1
cmp -s "$RAW" "$RAW"   # warm the page cache for the baseline's file
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
runs=()
for _ in 1 2 3; do runs+=("$(rescue_run "" "$URL")"); done
OURS=$(median "${runs[@]}")
cmp "$TARGET" "$RAW"
(cd "$WORK" && python3 -m http.server --bind 127.0.0.1 0 >"$WORK/http.out" 2>&1 & echo $! >"$WORK/http.pid")
pids+=($(cat "$WORK/http.pid"))
for _ in $(seq 50); do grep -q 'port' "$WORK/http.out" && break; sleep 0.1; done
HPORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WORK/http.out" | head -1)
runs=()
for _ in 1 2 3; do
  rm -f "$TARGET"; sync
  t0=$(now); curl -s -o "$TARGET" "http://127.0.0.1:$HPORT/raw.img"; sync -f "$TARGET"; t1=$(now)
  runs+=("$(elapsed "$t0" "$t1")")
done
CURL=$(median "${runs[@]}")
STORED=$(python3 -c "import json; print(json.load(open('$WORK/rescue.json'))['storedBytes'])")
RECEIVED=$(python3 -c "import json; print(json.load(open('$WORK/rescue.json'))['receivedBytes'])")
echo "disk $DISK_BYTES bytes; stored unique $STORED; received $RECEIVED ($(python3 -c "print(f'{$RECEIVED/$STORED:.4f}')")x stored)"
echo "loopback (median of 3): rescue ${OURS}s, curl of raw ${CURL}s -> curl/rescue = $(python3 -c "print(f'{$CURL/$OURS:.2f}')") (target >= 1.5)"

# 2. throttled link between two namespaces of our own
ip netns add $NS_S; ip netns add $NS_C
ip link add us-bench-s type veth peer name us-bench-c
ip link set us-bench-s netns $NS_S; ip link set us-bench-c netns $NS_C
ip -n $NS_S addr add 169.254.77.1/24 dev us-bench-s; ip -n $NS_C addr add 169.254.77.2/24 dev us-bench-c
for ns in $NS_S $NS_C; do ip -n $ns link set lo up; done
ip -n $NS_S link set us-bench-s up; ip -n $NS_C link set us-bench-c up
ip netns exec $NS_S tc qdisc add dev us-bench-s root tbf rate ${RATE}mbit burst 64kb latency 50ms
ip netns exec $NS_C tc qdisc add dev us-bench-c root tbf rate ${RATE}mbit burst 64kb latency 50ms
kill $SERVER_PID; wait $SERVER_PID 2>/dev/null || true
serve $NS_S 169.254.77.1
SLOW=$(rescue_run $NS_C "$URL")
cmp "$TARGET" "$RAW"
IDEAL=$(python3 -c "print(f'{$STORED * 8 / ($RATE * 1e6):.3f}')")
echo "${RATE} Mbit/s: rescue ${SLOW}s, stored/link ${IDEAL}s -> $(python3 -c "print(f'{$SLOW/$IDEAL:.3f}')")x (target <= 1.1)"
