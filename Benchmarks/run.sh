#!/usr/bin/env bash
# Understudy benchmark driver: synthetic disks, baselines (zstd, openssl) and
# our capture / re-capture / incremental capture / restore, all on warm cache,
# reported as the ratios of the project's performance targets.
#
#   Benchmarks/run.sh [--sizes "1G 4G"] [--bin PATH] [--work DIR] [options]
#
# See Benchmarks/README.md and `run.sh --help`.
#
# Extending: write a function `measure_NAME` (it sees SIZE_LABEL, SIZE_BYTES,
# DISK, SDIR, STORE, MACHINE, BIN; time commands with
# `timed NAME [--prepare FUNC] [--once] [--stdout FILE] -- CMD...`, which runs
# FUNC (e.g. warm the inputs, remove the outputs) before each of the --repeat
# runs and records the median; keep other numbers with `set_value NAME VALUE`)
# and append NAME to
# MEASUREMENTS; write `target_NAME` (print rows with `target_row`) and append
# it to TARGETS. Names starting with `ours_` need the understudy binary. Files
# Benchmarks/bench.d/*.sh are sourced after the built-ins, so new benchmarks
# (image writers, standby build, ...) can live there without editing this file.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
MAKE_DISK="$SCRIPT_DIR/make-disk.py"
TIME=/usr/bin/time

# ---------------------------------------------------------------- settings
SIZES="1G 4G"
BIN=""                      # empty: $REPO_ROOT/.build/release/understudy
WORK="$REPO_ROOT/bench-work"
SEED=1
REPEAT=3                    # timed runs per step (median reported); --once steps run once
MUTATE_PERCENT=1
MACHINE=bench
KEEP=0
STRICT=0
ONLY=""
SKIP=""
CHUNKS_SUBDIR="${UNDERSTUDY_CHUNKS_SUBDIR:-packs}"   # store's chunks folder, for du

# Measurements run in this order for every disk size. The disk is mutated by
# ours_capture_mutated, so anything after it sees the mutated disk.
MEASUREMENTS=(
  baseline_zstd_compress
  baseline_sha256
  baseline_zstd_decompress
  ours_capture_first
  ours_recapture
  ours_capture_mutated
  ours_restore
)
# Rows of the targets table, printed in this order after all sizes ran.
TARGETS=(
  target_capture_vs_zstd
  target_recapture_vs_sha256
  target_stored_after_mutation
  target_restore_vs_zstd_d
  target_peak_rss
)

usage() {
  cat <<EOF
Usage: Benchmarks/run.sh [options] [WORK_DIR]

  --sizes "1G 4G"    disk sizes to benchmark (K/M/G/T suffixes or bytes; default "$SIZES")
  --bin PATH         understudy binary (default .build/release/understudy,
                     built with 'swift build -c release' if missing)
  --work DIR         work dir (default bench-work/ in the repo root); also positional
  --seed N           make-disk.py seed (default $SEED)
  --percent P        mutation: P % of the disk in scattered 4 KiB writes (default $MUTATE_PERCENT)
  --repeat N         timed runs per step, the median is reported (default $REPEAT;
                     the capture after the mutation always runs once)
  --only LIST        run only these measurements (comma/space list; a name or a
                     prefix such as 'baseline' or 'ours')
  --skip LIST        skip these measurements (same matching as --only)
  --baselines-only   same as --only baseline (no understudy binary needed)
  --keep             keep disk images, stores and archives in the work dir
  --strict           exit 1 if a target is missed (a restore mismatch always fails)
  --list             list measurements and targets, then exit
  -h, --help         this help

Results: Markdown table on stdout and in WORK_DIR/results.md, raw numbers in
WORK_DIR/results.tsv, logs and command output in WORK_DIR/<size>/.
Environment: UNDERSTUDY_CHUNKS_SUBDIR (default "packs") names the store's
chunks folder measured with du -sb.
EOF
}

# ---------------------------------------------------------------- helpers
log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  {
  printf '\n[%s] BENCHMARK FAILED: %s\n\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# size_bytes 1G -> 1073741824 (binary suffixes; K, M, G, T, optional iB/B)
size_bytes() {
  local s=${1^^} n unit
  [[ $s =~ ^([0-9]+)([KMGT]?)(I?B)?$ ]] || die "bad size '$1' (use bytes or e.g. 64M, 1G, 4G)"
  n=${BASH_REMATCH[1]}; unit=${BASH_REMATCH[2]}
  case $unit in
    K) echo $(( n << 10 )) ;; M) echo $(( n << 20 )) ;;
    G) echo $(( n << 30 )) ;; T) echo $(( n << 40 )) ;; *) echo $(( n )) ;;
  esac
}

# float helpers (awk): ratio A B -> A/B with 3 decimals; B of 0 counts as the
# 0.01 s resolution of /usr/bin/time so tiny runs do not divide by zero.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.3f", a / b }'; }
rss_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# cmp_ok VALUE OP LIMIT -> exit 0 when "VALUE OP LIMIT" holds (OP is <= or >=)
cmp_ok() {
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { exit !((op == "<=") ? (v <= l) : (v >= l)) }'
}
mib_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.01; printf "%.0f", b / 1048576 / s }'; }

# selected NAME -> exit 0 if NAME is to run under --only / --skip
matches_list() {
  local name=$1 list=$2 item
  for item in ${list//,/ }; do
    [[ $name == "$item" || $name == "$item"* ]] && return 0
  done
  return 1
}
selected() {
  if [[ -n $ONLY ]] && ! matches_list "$1" "$ONLY"; then return 1; fi
  if [[ -n $SKIP ]] && matches_list "$1" "$SKIP"; then return 1; fi
  return 0
}

# Results, keyed "SIZE_LABEL|NAME".
declare -A R_SECS=() R_RSS=() R_CMD=() R_RUNS=() R_VAL=()
ORDER=()          # "SIZE_LABEL|NAME" of timed steps, in run order
NOTES=()          # free-form lines for the Notes section
FAILED_TARGETS=0

record() {  # record NAME SECS RSS_KIB CMD [RUNS]
  local key="$SIZE_LABEL|$1"
  R_SECS[$key]=$2; R_RSS[$key]=$3; R_CMD[$key]=$4; R_RUNS[$key]=${5:-$2}
  ORDER+=("$key")
}
set_value() { R_VAL["$SIZE_LABEL|$1"]=$2; }
get_secs()  { echo "${R_SECS["$1|$2"]:-}"; }
get_rss()   { echo "${R_RSS["$1|$2"]:-}"; }
get_value() { echo "${R_VAL["$1|$2"]:-}"; }
note()      { NOTES+=("$*"); }

# warm FILE... : read files once so every step starts on a warm page cache
warm() { cat "$@" >/dev/null; }
warm_tree() { find "$1" -type f -exec cat {} + >/dev/null; }
# settle: write back dirty pages left by earlier steps (does not drop the cache)
settle() { sync; }

# median X... (seconds)
median() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# timed NAME [--prepare FUNC] [--once] [--stdout FILE] -- CMD...
# Runs CMD under /usr/bin/time REPEAT times (once with --once), each run after
# FUNC (warm inputs, remove outputs) and a sync; records the median wall
# seconds and the largest peak RSS. CMD's stderr goes to $SDIR/NAME.stderr,
# its stdout to FILE (default $SDIR/NAME.stdout; the last run's is kept).
# A failing run fails the benchmark.
timed() {
  local name=$1; shift
  local out="$SDIR/$name.stdout" tf="$SDIR/$name.time" prepare="" reps=$REPEAT
  while [[ ${1:-} == --* && $1 != -- ]]; do
    case $1 in
      --stdout) out=$2; shift 2 ;;
      --prepare) prepare=$2; shift 2 ;;
      --once) reps=1; shift ;;
      *) die "timed: unknown option '$1'" ;;
    esac
  done
  [[ ${1:-} == -- ]] && shift
  local i rc line secs rss max_rss=0 runs=()
  log "  $name: $*"
  for (( i = 1; i <= reps; i++ )); do
    if [[ -n $prepare ]]; then "$prepare"; fi
    settle
    rc=0
    "$TIME" -f '%e %M' -o "$tf" "$@" >"$out" 2>"$SDIR/$name.stderr" || rc=$?
    if (( rc != 0 )); then
      tail -n 20 "$SDIR/$name.stderr" >&2 || true
      die "$name exited with status $rc: $*  (stderr: $SDIR/$name.stderr)"
    fi
    line=$(tail -n 1 "$tf")
    read -r secs rss <<<"$line"
    [[ $secs =~ ^[0-9.]+$ && $rss =~ ^[0-9]+$ ]] || die "$name: cannot parse /usr/bin/time output '$line'"
    runs+=("$secs")
    if (( rss > max_rss )); then max_rss=$rss; fi
  done
  secs=$(median "${runs[@]}")
  record "$name" "$secs" "$max_rss" "$*" "${runs[*]}"
  log "  $name: ${secs} s (runs: ${runs[*]}), $(mib_per_s "$SIZE_BYTES" "$secs") MiB/s of disk, peak RSS $(rss_mib "$max_rss") MiB"
}

# json_field FILE FIELD: a field of the JSON record that FILE holds (the whole
# output, or else its last line that is a JSON object).
json_field() {
  python3 - "$1" "$2" <<'PY'
import json, sys
path, field = sys.argv[1], sys.argv[2]
text = open(path).read()
try:
    record = json.loads(text)
except ValueError:
    record = None
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                record = json.loads(line)
                break
            except ValueError:
                pass
if isinstance(record, list) and record:
    record = record[-1]
if not isinstance(record, dict) or field not in record:
    sys.exit(f"no field {field!r} in JSON output {path}")
value = record[field]
print(json.dumps(value) if isinstance(value, (dict, list)) else value)
PY
}

chunks_bytes() {  # du -sb of the store's chunks folder (or of the store)
  local dir="$STORE/$CHUNKS_SUBDIR"
  if [[ -d $dir ]]; then du -sb "$dir" | cut -f1
  elif [[ -d $STORE ]]; then du -sb "$STORE" | cut -f1
  else echo 0
  fi
}

# ---------------------------------------------------------------- measurements
# Prepare functions: run before every timed run. Outputs are removed first:
# overwriting a file in place (truncate + rewrite) makes ext4 flush it on close.
prep_read_disk() { warm "$DISK"; }
prep_zstd_compress() { rm -f "$SDIR/disk.zst"; warm "$DISK"; }
prep_zstd_decompress() { rm -f "$SDIR/zstd-out.raw"; warm "$SDIR/disk.zst"; }
prep_capture_first() { rm -rf "$STORE"; warm "$DISK"; }
prep_restore() { rm -f "$SDIR/restore.raw"; warm_tree "$STORE"; }

measure_baseline_zstd_compress() {
  timed baseline_zstd_compress --prepare prep_zstd_compress -- zstd -3 -T2 -q -f "$DISK" -o "$SDIR/disk.zst"
  local bytes; bytes=$(stat -c %s "$SDIR/disk.zst")
  set_value zstd_bytes "$bytes"
}

measure_baseline_sha256() {
  timed baseline_sha256 --prepare prep_read_disk -- openssl dgst -sha256 "$DISK"
}

measure_baseline_zstd_decompress() {
  if [[ ! -f $SDIR/disk.zst ]]; then  # e.g. --only baseline_zstd_decompress
    log "  (making $SDIR/disk.zst, not timed)"
    zstd -3 -T2 -q -f "$DISK" -o "$SDIR/disk.zst"
  fi
  timed baseline_zstd_decompress --prepare prep_zstd_decompress -- zstd -d -q -f "$SDIR/disk.zst" -o "$SDIR/zstd-out.raw"
  cmp "$DISK" "$SDIR/zstd-out.raw" || die "zstd round trip differs from $DISK"
  rm -f "$SDIR/zstd-out.raw"
  (( KEEP )) || rm -f "$SDIR/disk.zst"
}

# ours_capture NAME PREPARE [--once]: capture DISK into STORE, keep the JSON
# fields of the last run and the growth of the chunks folder (du -sb).
ours_capture() {
  local name=$1 prepare=$2 once=${3:-} json="$SDIR/$1.json" before after field value
  before=$(chunks_bytes)
  timed "$name" --prepare "$prepare" ${once:+"$once"} --stdout "$json" -- \
    "$BIN" capture "$MACHINE" "$DISK" --json --store "$STORE"
  after=$(chunks_bytes)
  for field in id storedBytes newChunks; do
    value=$(json_field "$json" "$field") || die "$name: no '$field' in the --json output ($json)"
    set_value "$name.$field" "$value"
  done
  set_value "$name.du_delta" "$(( after - before ))"
  set_value "$name.du_after" "$after"
  log "  $name: point $(get_value "$SIZE_LABEL" "$name.id"), storedBytes $(get_value "$SIZE_LABEL" "$name.storedBytes"), newChunks $(get_value "$SIZE_LABEL" "$name.newChunks"), chunks du +$(( after - before )) B"
}

need_store() {
  [[ -d $STORE ]] || die "$1 needs a store with a captured point: run ours_capture_first too"
}

measure_ours_capture_first() {
  rm -rf "$STORE"
  ours_capture ours_capture_first prep_capture_first
}

measure_ours_recapture() {
  need_store ours_recapture
  ours_capture ours_recapture prep_read_disk
  local n; n=$(get_value "$SIZE_LABEL" ours_recapture.newChunks)
  [[ $n == 0 ]] || warn "re-capture of an unchanged disk stored $n new chunks (expected 0)"
}

measure_ours_capture_mutated() {
  need_store ours_capture_mutated
  python3 "$MAKE_DISK" mutate "$DISK" --percent "$MUTATE_PERCENT" --seed "$SEED" 2>>"$SDIR/make-disk.log"
  tail -n 1 "$SDIR/make-disk.log" >&2
  # Once only: a second run would find nothing new.
  ours_capture ours_capture_mutated prep_read_disk --once
}

measure_ours_restore() {
  need_store ours_restore
  local out="$SDIR/restore.raw"
  timed ours_restore --prepare prep_restore -- "$BIN" restore "$MACHINE" "$out" --point latest --store "$STORE"
  [[ -f $out ]] || die "restore did not write $out"
  log "  cmp $DISK $out"
  if ! cmp "$DISK" "$out" >&2; then
    die "RESTORE MISMATCH: $out differs from $DISK (restored point 'latest' of $STORE)"
  fi
  log "  ours_restore: restored image matches the disk"
  rm -f "$out"
}

# ---------------------------------------------------------------- targets
# target_row TARGET DISK SHOWN GOAL VALUE OP LIMIT: one row of the targets
# table; PASS when "VALUE OP LIMIT" holds (OP is <= or >=), else FAIL.
TARGET_ROWS=()
target_row() {
  local verdict=PASS
  if ! cmp_ok "$5" "$6" "$7"; then
    verdict=FAIL
    FAILED_TARGETS=$(( FAILED_TARGETS + 1 ))
  fi
  TARGET_ROWS+=("| $1 | $2 | $3 | $4 | $verdict |")
}

target_capture_vs_zstd() {
  local label ours base r
  for label in "${SIZE_LABELS[@]}"; do
    ours=$(get_secs "$label" ours_capture_first); base=$(get_secs "$label" baseline_zstd_compress)
    [[ -n $ours && -n $base ]] || continue
    r=$(ratio "$ours" "$base")
    target_row "first capture time / zstd -3 -T2 time" "$label" "$r ($ours s / $base s)" "≤ 1.3" "$r" '<=' 1.3
  done
}

target_recapture_vs_sha256() {
  local label ours base r
  for label in "${SIZE_LABELS[@]}"; do
    ours=$(get_secs "$label" ours_recapture); base=$(get_secs "$label" baseline_sha256)
    [[ -n $ours && -n $base ]] || continue
    # throughput ratio = (size / ours) / (size / base) = base / ours
    r=$(ratio "$base" "$ours")
    target_row "re-capture throughput / openssl sha256 throughput" "$label" \
      "$r ($(mib_per_s "${SIZE_OF[$label]}" "$ours") / $(mib_per_s "${SIZE_OF[$label]}" "$base") MiB/s)" "≥ 1.5" "$r" '>=' 1.5
  done
}

target_stored_after_mutation() {
  local label stored du pct dupct
  for label in "${SIZE_LABELS[@]}"; do
    stored=$(get_value "$label" ours_capture_mutated.storedBytes)
    [[ -n $stored ]] || continue
    du=$(get_value "$label" ours_capture_mutated.du_delta)
    pct=$(awk -v s="$stored" -v d="${SIZE_OF[$label]}" 'BEGIN { printf "%.2f", 100 * s / d }')
    dupct=$(awk -v s="$du" -v d="${SIZE_OF[$label]}" 'BEGIN { printf "%.2f", 100 * s / d }')
    target_row "stored bytes after ${MUTATE_PERCENT}% scattered writes / disk size" "$label" \
      "${pct}% ($stored B; chunks du +$du B = ${dupct}%)" "≤ 3%" "$pct" '<=' 3
  done
}

target_restore_vs_zstd_d() {
  local label ours base r
  for label in "${SIZE_LABELS[@]}"; do
    ours=$(get_secs "$label" ours_restore); base=$(get_secs "$label" baseline_zstd_decompress)
    [[ -n $ours && -n $base ]] || continue
    r=$(ratio "$ours" "$base")
    target_row "restore time / zstd -d time" "$label" "$r ($ours s / $base s)" "≤ 1.2" "$r" '<=' 1.2
  done
}

target_peak_rss() {
  local label=$LARGEST_LABEL step rss max=""
  for step in ours_capture_first ours_recapture ours_capture_mutated; do
    rss=$(get_rss "$label" "$step")
    if [[ -n $rss ]] && { [[ -z $max ]] || (( rss > max )); }; then max=$rss; fi
  done
  if [[ -n $max ]]; then
    target_row "peak RSS of capture (largest disk)" "$label" "$(rss_mib "$max") MiB" "≤ 256 MiB" "$max" '<=' $(( 256 * 1024 ))
  fi
  rss=$(get_rss "$label" ours_restore)
  if [[ -n $rss ]]; then
    target_row "peak RSS of restore (largest disk)" "$label" "$(rss_mib "$rss") MiB" "≤ 256 MiB" "$rss" '<=' $(( 256 * 1024 ))
  fi
}

# ---------------------------------------------------------------- report
machine_info() {
  local cpu mem
  cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
  echo "- Date: $(date '+%Y-%m-%d %H:%M:%S %Z')"
  echo "- Machine: nproc $(nproc), CPU ${cpu:-unknown}, RAM ${mem:-unknown}, kernel $(uname -r); load average at start ${LOAD_AT_START:-?}, at end $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
  echo "- Work dir: $WORK ($(df -T "$WORK" | awk 'NR == 2 { print $2 }'))"
  if [[ -n $BIN ]]; then echo "- Binary: $BIN"; else echo "- Binary: not used"; fi
  echo "- Tools: $(zstd --version 2>&1 | head -n 1 | sed 's/^\*\*\* //; s/ \*\*\*$//'); $(openssl version); $(python3 --version 2>&1)"
  echo "- Disks: make-disk.py --seed $SEED (64 KiB blocks ~30% zero holes, ~30% text, ~25% random, ~15% duplicate); mutation: ${MUTATE_PERCENT}% of the disk in scattered 4 KiB writes"
  echo "- Each step: median of $REPEAT timed runs (the capture after the mutation: 1 run), each on a warm page cache (inputs read once with cat first, outputs removed, then sync)"
}

report() {
  local key label name secs rss v
  echo "# Understudy benchmark results"
  echo
  machine_info
  echo
  echo "## Targets"
  echo
  echo "| Target | Disk | Measured | Goal | Result |"
  echo "|---|---|---|---|---|"
  if (( ${#TARGET_ROWS[@]} )); then printf '%s\n' "${TARGET_ROWS[@]}"
  else echo "| (no target had both of its measurements) | | | | |"
  fi
  echo
  echo "## Steps"
  echo
  echo "| Disk | Step | Wall s (median) | Disk MiB/s | Peak RSS MiB | Runs (s) | Command |"
  echo "|---|---|---|---|---|---|---|"
  for key in "${ORDER[@]}"; do
    label=${key%%|*}; name=${key#*|}
    secs=${R_SECS[$key]}; rss=${R_RSS[$key]}
    echo "| $label | $name | $secs | $(mib_per_s "${SIZE_OF[$label]}" "$secs") | $(rss_mib "$rss") | ${R_RUNS[$key]} | \`${R_CMD[$key]//"$WORK/"/}\` |"
  done
  echo
  echo "## Sizes"
  echo
  echo "| Disk | Bytes | zstd -3 output | first capture storedBytes | first capture newChunks | re-capture newChunks | mutated capture newChunks |"
  echo "|---|---|---|---|---|---|---|"
  for label in "${SIZE_LABELS[@]}"; do
    v="| $label | ${SIZE_OF[$label]} | $(get_value "$label" zstd_bytes) | $(get_value "$label" ours_capture_first.storedBytes)"
    v+=" | $(get_value "$label" ours_capture_first.newChunks) | $(get_value "$label" ours_recapture.newChunks)"
    v+=" | $(get_value "$label" ours_capture_mutated.newChunks) |"
    echo "$v"
  done
  if (( ${#NOTES[@]} )); then
    echo
    echo "## Notes"
    echo
    printf -- '- %s\n' "${NOTES[@]}"
  fi
}

write_tsv() {
  local key
  printf 'disk\tstep\tbytes_or_value\tseconds\tpeak_rss_kib\truns\n'
  for key in "${ORDER[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${key%%|*}" "${key#*|}" "${SIZE_OF[${key%%|*}]}" "${R_SECS[$key]}" "${R_RSS[$key]}" "${R_RUNS[$key]}"
  done
  for key in "${!R_VAL[@]}"; do
    printf '%s\t%s\t%s\t\t\t\n' "${key%%|*}" "${key#*|}" "${R_VAL[$key]}"
  done | sort
}

# ---------------------------------------------------------------- main
main() {
  local positional_work=""
  while (( $# )); do
    case $1 in
      --sizes) SIZES=${2:?--sizes needs a value}; shift 2 ;;
      --sizes=*) SIZES=${1#*=}; shift ;;
      --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
      --bin=*) BIN=${1#*=}; shift ;;
      --work) WORK=${2:?--work needs a directory}; shift 2 ;;
      --work=*) WORK=${1#*=}; shift ;;
      --seed) SEED=${2:?--seed needs a number}; shift 2 ;;
      --percent) MUTATE_PERCENT=${2:?--percent needs a number}; shift 2 ;;
      --repeat) REPEAT=${2:?--repeat needs a number}; shift 2 ;;
      --only) ONLY=${2:?--only needs a list}; shift 2 ;;
      --skip) SKIP=${2:?--skip needs a list}; shift 2 ;;
      --baselines-only) ONLY=baseline; shift ;;
      --keep) KEEP=1; shift ;;
      --strict) STRICT=1; shift ;;
      --list) printf 'measurements: %s\ntargets: %s\n' "${MEASUREMENTS[*]}" "${TARGETS[*]}"; exit 0 ;;
      -h|--help) usage; exit 0 ;;
      -*) usage >&2; die "unknown option '$1'" ;;
      *) [[ -z $positional_work ]] || die "more than one work dir given"; positional_work=$1; WORK=$1; shift ;;
    esac
  done
  [[ $SEED =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
  [[ $MUTATE_PERCENT =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--percent must be a number"
  [[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a positive integer"

  # Sizes, in the order given; the largest gets the RSS targets.
  SIZE_LABELS=(); declare -gA SIZE_OF=()
  local s bytes largest=0
  for s in ${SIZES//,/ }; do
    bytes=$(size_bytes "$s")
    (( bytes > 0 )) || die "size '$s' is zero"
    [[ -z ${SIZE_OF[$s]:-} ]] || continue
    SIZE_LABELS+=("$s"); SIZE_OF[$s]=$bytes
    if (( bytes > largest )); then largest=$bytes; LARGEST_LABEL=$s; fi
  done
  (( ${#SIZE_LABELS[@]} )) || die "no sizes given"

  # Which measurements run; does any of them need the binary?
  local m need_bin=0 run=()
  for m in "${MEASUREMENTS[@]}"; do
    declare -F "measure_$m" >/dev/null || die "measurement '$m' has no function measure_$m"
    if selected "$m"; then run+=("$m"); [[ $m == ours_* ]] && need_bin=1; fi
  done
  (( ${#run[@]} )) || die "no measurement selected (--only '$ONLY' --skip '$SKIP'; see --list)"

  # Tools.
  local tool
  for tool in python3 zstd openssl cmp du stat sync; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
  done
  [[ -x $TIME ]] || die "missing $TIME (GNU time; apt-get install time)"
  [[ -f $MAKE_DISK ]] || die "missing $MAKE_DISK"

  if (( need_bin )); then
    if [[ -z $BIN ]]; then
      BIN="$REPO_ROOT/.build/release/understudy"
      if [[ ! -x $BIN ]]; then
        log "building $BIN (swift build -c release)"
        (cd "$REPO_ROOT" && swift build -c release) >&2 || die "swift build -c release failed"
      fi
    fi
    [[ $BIN == /* ]] || BIN="$PWD/$BIN"
    [[ -x $BIN ]] || die "understudy binary '$BIN' not found or not executable"
  else
    BIN=""
  fi

  mkdir -p "$WORK"
  WORK=$(cd "$WORK" && pwd)
  local avail need
  avail=$(df -P -B1 "$WORK" | awk 'NR == 2 { print $4 }')
  need=$(( 3 * largest ))
  if (( avail < need )); then
    warn "only $(( avail >> 20 )) MiB free in $WORK, less than 3x the largest disk ($(( need >> 20 )) MiB)"
  fi

  LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
  log "sizes: ${SIZE_LABELS[*]}; measurements: ${run[*]}; work dir: $WORK${BIN:+; binary: $BIN}"
  for SIZE_LABEL in "${SIZE_LABELS[@]}"; do
    SIZE_BYTES=${SIZE_OF[$SIZE_LABEL]}
    SDIR="$WORK/${SIZE_LABEL//[^A-Za-z0-9._-]/_}"
    DISK="$SDIR/disk.img"
    STORE="$SDIR/store"
    rm -rf "$SDIR"; mkdir -p "$SDIR"
    log "== disk $SIZE_LABEL ($SIZE_BYTES bytes): $DISK"
    python3 "$MAKE_DISK" "$DISK" "$SIZE_BYTES" --seed "$SEED" 2>"$SDIR/make-disk.log" \
      || { cat "$SDIR/make-disk.log" >&2; die "make-disk.py failed"; }
    cat "$SDIR/make-disk.log" >&2
    for m in "${run[@]}"; do
      "measure_$m"
    done
    if (( ! KEEP )); then
      rm -rf "$STORE" "$DISK" "$SDIR/disk.zst" "$SDIR/restore.raw" "$SDIR/zstd-out.raw"
    fi
  done

  for m in "${TARGETS[@]}"; do
    declare -F "$m" >/dev/null || die "target '$m' has no function"
    "$m"
  done
  (( need_bin )) || note "understudy not run (baselines only): the targets need both measurements."
  report | tee "$WORK/results.md"
  write_tsv >"$WORK/results.tsv"
  log "results: $WORK/results.md, $WORK/results.tsv"
  if (( FAILED_TARGETS )); then
    warn "$FAILED_TARGETS target(s) missed"
    (( STRICT )) && exit 1
  fi
  return 0
}

# Extra benchmarks: each file may define measure_*/target_* functions and
# append to MEASUREMENTS / TARGETS.
shopt -s nullglob
for extra in "$SCRIPT_DIR"/bench.d/*.sh; do
  # shellcheck source=/dev/null
  source "$extra"
done
shopt -u nullglob

main "$@"
