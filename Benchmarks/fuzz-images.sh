#!/usr/bin/env bash
# The long mutation run of issue #8 (finding 2.4), debug build, one image kind at a time:
#  1. in-process (the suite's `ImageFuzzTests` with larger counts): MUTANTS seeded mutants of the
#     kind's corpus seed through the library behind `image info` and `image check`, and UPDATES
#     mutants of an image built at point A updated in place to B, each judged by qemu-img; one test
#     process per kind, under GNU time for its peak RSS. A trap ends the process: the script then
#     names the mutant (UNDERSTUDY_FUZZ_TRACE); a mutant past 10 s aborts it the same way.
#  2. through the CLI binary as a subprocess: every EVERY-th mutant of step 1 with `understudy
#     image info` and `image check`, each under `timeout 10` and GNU time (exit >= 128: crash,
#     124: hang, peak RSS per run).
# Results: WORK/results.md (a Markdown table for docs/fuzzing.md), WORK/report.jsonl, logs.
#
#   Benchmarks/fuzz-images.sh [--mutants 10000] [--updates 10000] [--every 20] [--seed N]
#                             [--kinds qcow2-v3,...] [--work DIR] [--no-build]
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
MUTANTS=10000 UPDATES=10000 EVERY=20 SEED=$(date +%s) BUILD=1 WORK=""
KINDS=qcow2-v3,qcow2-v3-compressed,vmdk-monolithicSparse,vmdk-streamOptimized,vhd-dynamic,vhd-fixed,vhdx-dynamic
while [ $# -gt 0 ]; do
  case $1 in
    --mutants) MUTANTS=$2; shift 2;; --updates) UPDATES=$2; shift 2;; --every) EVERY=$2; shift 2;;
    --seed) SEED=$2; shift 2;; --kinds) KINDS=$2; shift 2;; --work) WORK=$2; shift 2;; --no-build) BUILD=0; shift;;
    *) echo "usage: $0 [--mutants N] [--updates N] [--every N] [--seed N] [--kinds a,b] [--work DIR] [--no-build]" >&2; exit 2;;
  esac
done
WORK=${WORK:-$REPO/bench-work/fuzz-$SEED}
mkdir -p "$WORK"
export PATH=/opt/swift/usr/bin:$PATH
cd "$REPO"
[ "$BUILD" = 1 ] && swift build --build-tests >"$WORK/build.log" 2>&1
BIN=$REPO/.build/debug/understudy

for kind in ${KINDS//,/ }; do
  saved=$WORK/mutants/$kind
  rm -rf "$saved"; mkdir -p "$saved"
  start=$(date +%s)
  set +e
  UNDERSTUDY_FUZZ_KINDS=$kind UNDERSTUDY_FUZZ_MUTANTS=$MUTANTS UNDERSTUDY_FUZZ_UPDATES=$UPDATES \
  UNDERSTUDY_FUZZ_SEED=$SEED UNDERSTUDY_FUZZ_REPORT=$WORK/report.jsonl UNDERSTUDY_FUZZ_TRACE=$WORK/trace \
  UNDERSTUDY_FUZZ_SAVE=$saved UNDERSTUDY_FUZZ_SAVE_EVERY=$EVERY \
    /usr/bin/time -f '%M %e' -o "$WORK/$kind.time" \
    "$REPO/.build/debug/UnderstudyPackageTests.xctest" --testing-library swift-testing --filter 'ImageFuzzTests' >"$WORK/$kind.log" 2>&1
  status=$?
  set -e
  echo "$kind in-process: exit $status, $(($(date +%s) - start)) s, $(tail -1 "$WORK/$kind.time" | cut -d' ' -f1) KiB peak"
  if [ $status -ne 0 ]; then
    echo "  FAILED; last mutants started:"; cat "$WORK"/trace.*"$kind"* 2>/dev/null | sed 's/^/    /'
    grep -E 'FUZZ HANG|Fatal error|✘' "$WORK/$kind.log" | head -20 | sed 's/^/    /'
  fi
  # The CLI on the saved mutants: crash (>= 128), hang (124), peak RSS.
  : >"$WORK/$kind.cli"
  for f in "$saved"/*.img; do
    [ -e "$f" ] || continue
    for cmd in info check; do
      set +e
      timeout 10 /usr/bin/time -f '%M' -o "$WORK/one.time" "$BIN" image $cmd "$f" >/dev/null 2>"$WORK/one.err"
      code=$?
      set -e
      # 126/127: the binary could not be run at all (missing, or being relinked): not a result.
      if [ $code -eq 126 ] || [ $code -eq 127 ]; then echo "cannot run $BIN: $(cat "$WORK/one.err")" >&2; exit 1; fi
      rss=$(tail -1 "$WORK/one.time" 2>/dev/null | grep -Eo '^[0-9]+$' || echo 0)
      echo "$cmd $code $rss $(basename "$f")" >>"$WORK/$kind.cli"
      if [ $code -ge 124 ]; then echo "  CLI $cmd $(basename "$f"): exit $code: $(head -c 300 "$WORK/one.err")"; fi
    done
  done
done

python3 - "$WORK" "$KINDS" <<'EOF'
import json, os, sys
work, kinds = sys.argv[1], sys.argv[2].split(",")
rows = {}
for line in open(os.path.join(work, "report.jsonl")) if os.path.exists(os.path.join(work, "report.jsonl")) else []:
    r = json.loads(line)
    rows.setdefault(r["kind"], {})[r["phase"]] = r
out = ["| kind | info+check mutants | update mutants | updates refused / exact / carried data damage / WRONG | slowest mutant (s) | peak RSS (MiB) | process time (s) | CLI runs | CLI crashes | CLI hangs | CLI max RSS (MiB) |",
       "|---|---|---|---|---|---|---|---|---|---|---|"]
for kind in kinds:
    ph = rows.get(kind, {})
    rc, up = ph.get("info+check", {}), ph.get("update", {})
    o = up.get("outcomes", {})
    try:
        rss_kib, secs = open(os.path.join(work, kind + ".time")).read().split()[-2:]
    except Exception:
        rss_kib, secs = "0", "?"
    cli = [l.split() for l in open(os.path.join(work, kind + ".cli"))] if os.path.exists(os.path.join(work, kind + ".cli")) else []
    crashes = sum(1 for c in cli if int(c[1]) >= 128)
    hangs = sum(1 for c in cli if int(c[1]) == 124)
    cli_rss = max([int(c[2]) for c in cli] or [0]) / 1024
    slowest = max(rc.get("slowestSeconds", 0), up.get("slowestSeconds", 0))
    out.append(f"| {kind} | {rc.get('mutants', 'FAILED')} | {up.get('mutants', 'FAILED')} | "
               f"{o.get('refused', 0)} / {o.get('updated, exact', 0)} / {o.get('updated, carried data damage', 0)} / {o.get('updated WRONG', 0)} | "
               f"{slowest:.3f} | {int(rss_kib) / 1024:.0f} | {secs} | {len(cli)} | {crashes} | {hangs} | {cli_rss:.0f} |")
open(os.path.join(work, "results.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOF
