#!/usr/bin/env bash
# Chunk service under load (issue #8, finding 7), release build, loopback only (127.0.0.1):
# rounds of CLIENTS concurrent `understudy-rescue` restores of one SIZE point from
# `understudy serve --listen`, while a second machine is captured and `gc` runs in a loop.
# During each round the machine listing is fetched with curl every 0.1 s (latency from curl's
# time_total); after each round every target is compared with the point (cmp) and the server's
# RSS is read from /proc/PID/status. Prints one line a round and a summary:
#   listing p99 under load (target < 100 ms), RSS after the first and the last round (target: flat).
#
#   Benchmarks/chunk-service-load.sh [--size 256M] [--clients 20] [--rounds 10] [--work DIR] [--bin DIR]
#                                    [--client-nice N] [--probe-nice N] [--server-nice N] [--token-flag]
# --client-nice N runs the clients at nice N (they stand for other machines; on loopback they share
# this machine's cores with the server). --probe-nice N runs the listing probe (curl) at nice N,
# so that its own wait for a CPU is not counted as the server's; --server-nice N runs `serve` at
# nice N (what a site gives a backup server that shares its machine). --token-flag passes the token as --token, for client
# builds older than --token-file / UNDERSTUDY_TOKEN.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
SIZE=256M CLIENTS=20 ROUNDS=10 WORK=$REPO/bench-work/chunk-load BIN="" NICE=0 PROBE_NICE=0 SERVER_NICE=0 TOKEN_FLAG=0
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=$2; shift 2;; --clients) CLIENTS=$2; shift 2;; --rounds) ROUNDS=$2; shift 2;;
    --work) WORK=$2; shift 2;; --bin) BIN=$2; shift 2;;
    --client-nice) NICE=$2; shift 2;; --probe-nice) PROBE_NICE=$2; shift 2;; --server-nice) SERVER_NICE=$2; shift 2;; --token-flag) TOKEN_FLAG=1; shift;;
    *) echo "usage: $0 [--size 256M] [--clients 20] [--rounds 10] [--work DIR] [--bin DIR] [--client-nice N] [--probe-nice N] [--server-nice N] [--token-flag]" >&2; exit 2;;
  esac
done
if [ -z "$BIN" ]; then   # the release build of both binaries
  for product in understudy understudy-rescue; do (cd "$REPO" && swift build -c release --product $product >/dev/null); done
  BIN=$(cd "$REPO" && swift build -c release --show-bin-path)
fi
BIN=$(cd "$BIN" && pwd)
U=$BIN/understudy R=$BIN/understudy-rescue
mkdir -p "$WORK"; cd "$WORK"
export UNDERSTUDY_STORE=$WORK/store
pids=()
cleanup() {  # the background loop is stopped first, so it starts no new capture or gc while its child is killed
  for p in "${pids[@]}"; do kill -STOP "$p" 2>/dev/null || true; pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true; rm -f "$WORK"/target-*
}
trap cleanup EXIT

[ -s disk.img ] || python3 "$SCRIPT_DIR/make-disk.py" --seed 11 disk.img "$SIZE"
[ -s other.img ] || python3 "$SCRIPT_DIR/make-disk.py" --seed 12 other.img "$SIZE"
rm -rf "$WORK/store"
"$U" capture load disk.img -q >/dev/null
"$U" capture other other.img -q >/dev/null
"$U" token create --name load -q >token
chmod 600 token
export UNDERSTUDY_TOKEN; UNDERSTUDY_TOKEN=$(cat token)
token_args=(); [ "$TOKEN_FLAG" = 0 ] || token_args=(--token "$UNDERSTUDY_TOKEN")

nice -n "$SERVER_NICE" "$U" serve --listen 127.0.0.1:0 --duration 86400 -q >serve.out 2>serve.err &
SERVER=$!; pids+=($SERVER)
for _ in $(seq 100); do grep -q '^listening on ' serve.out && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' serve.out | head -1)
[ -n "$URL" ] || { echo "serve did not start: $(cat serve.err)" >&2; exit 1; }
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
rss_anon() { awk '/^RssAnon/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }   # heap: what a leak grows
listing() { nice -n "$PROBE_NICE" curl -s -o /dev/null -w '%{http_code} %{time_total} %{time_connect} %{time_starttransfer}\n' --max-time 30 -H "Authorization: Bearer $UNDERSTUDY_TOKEN" "$URL/api/v1/machines"; }
stats() {  # stats FILE -> "median p99 max n" in ms of lines "200 SECONDS"; non-200 count as 30 s
  python3 - "$1" <<'PY'
import sys
v = sorted((float(t) if c == "200" else 30.0) * 1000 for c, t in (l.split()[:2] for l in open(sys.argv[1]) if l.strip()))
if not v: print("- - - 0"); sys.exit()
q = lambda p: v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]
print(f"{q(0.5):.1f} {q(0.99):.1f} {v[-1]:.1f} {len(v)}")
PY
}

: >idle.txt
for _ in $(seq 50); do listing >>idle.txt; done
echo "idle listing (50 requests): median/p99/max ms: $(stats idle.txt | cut -d' ' -f1-3); server RSS $(rss) MiB"

# Background writers: capture a changed second machine, forget its oldest point, gc; again.
(
  n=0
  while :; do
    n=$((n + 1))
    python3 "$SCRIPT_DIR/make-disk.py" mutate other.img --percent 5 --seed "$n" 2>/dev/null
    "$U" capture other other.img -q >/dev/null
    oldest=$("$U" points other --json 2>/dev/null | python3 -c "import json,sys; p=json.load(sys.stdin); print(p[0]['id'] if len(p) > 1 else '')" 2>/dev/null || true)
    [ -z "$oldest" ] || "$U" forget other "$oldest" -q >/dev/null 2>&1 || true
    "$U" gc -q >/dev/null 2>&1 || true
    echo "$n" >background.count
  done
) &
pids+=($!)

: >load.txt
total_ok=0
echo "round  restores-bit-exact  listing-median-ms  listing-p99-ms  listing-max-ms  server-RSS-MiB  (anon)  background-cycles  seconds"
for round in $(seq "$ROUNDS"); do
  clients=() started=$(date +%s)
  for c in $(seq "$CLIENTS"); do
    rm -f "target-$c" "target-$c.rescue-journal"
    nice -n "$NICE" "$R" --server "$URL" "${token_args[@]}" --machine load --target "target-$c" >/dev/null 2>"client-$c.err" &
    clients+=($!)
  done
  : >round.txt
  while :; do
    running=0
    for p in "${clients[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
    [ $running = 1 ] || break
    listing >>round.txt
    sleep 0.1
  done
  ok=0
  for c in $(seq "$CLIENTS"); do
    if wait "${clients[$((c - 1))]}" && cmp -s "target-$c" disk.img; then ok=$((ok + 1)); else echo "client $c: $(tail -1 "client-$c.err")" >&2; fi
    rm -f "target-$c"
  done
  total_ok=$((total_ok + ok))
  cat round.txt >>load.txt
  read -r med p99 max _ < <(stats round.txt)
  echo "$round  $ok/$CLIENTS  $med  $p99  $max  $(rss)  ($(rss_anon))  $(cat background.count 2>/dev/null || echo 0)  $(( $(date +%s) - started ))"
  if [ "$round" = 1 ]; then RSS_FIRST="$(rss) (anon $(rss_anon))"; fi
done
RSS_LAST="$(rss) (anon $(rss_anon))"
read -r med p99 max n < <(stats load.txt)
echo "under load: $total_ok of $((ROUNDS * CLIENTS)) restores bit-exact; listing ($n requests) median $med ms, p99 $p99 ms, max $max ms (target p99 < 100 ms)"
echo "server RSS after round 1: $RSS_FIRST MiB, after round $ROUNDS: $RSS_LAST MiB (target: flat)"
