# Image writers (issue #3): full build of each format vs `qemu-img convert` from the raw restore,
# qcow2 --compress (stored frames passed through) vs `qemu-img convert -c -o compression_type=zstd`,
# an incremental update after the 1% change vs a full build. Sourced by run.sh; needs the store
# that ours_capture_first / ours_capture_mutated left (first point = before the change).
IMAGE_FORMATS=${IMAGE_FORMATS:-"qcow2 vmdk vhd vhdx"}

qemu_driver() { [[ $1 == vhd ]] && echo vpc || echo "$1"; }
format_known() { "$BIN" image formats | awk '{ print $1 }' | grep -qx "$1"; }

prep_image_raw() {
  # the raw restore of the latest point: qemu-img's input
  [[ -f $SDIR/latest.raw ]] || "$BIN" restore "$MACHINE" "$SDIR/latest.raw" --store "$STORE" --force >/dev/null 2>&1
  warm "$SDIR/latest.raw"
}
prep_image_out() { rm -f "$SDIR"/image.* "$SDIR"/.image.*; warm_tree "$STORE"; }
prep_qemu_out() { rm -f "$SDIR"/qemu.*; prep_image_raw; }
prep_update() {
  # an image of the first point, to be brought to the latest
  local first; first=$("$BIN" points "$MACHINE" --json --store "$STORE" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  "$BIN" restore "$MACHINE" "$SDIR/update.qcow2" --format qcow2 --point "$first" --store "$STORE" --force-full >/dev/null 2>&1 ||
    "$BIN" restore "$MACHINE" "$SDIR/update.qcow2" --format qcow2 --point "$first" --store "$STORE" --force >/dev/null
  warm_tree "$STORE"
}

measure_images() {
  need_store images
  local f
  for f in $IMAGE_FORMATS; do
    format_known "$f" || { note "$f: not built yet, skipped"; continue; }
    timed "ours_image_$f" --prepare prep_image_out -- "$BIN" restore "$MACHINE" "$SDIR/image.$f" --format "$f" --store "$STORE"
    timed "qemu_convert_$f" --prepare prep_qemu_out -- qemu-img convert -f raw -O "$(qemu_driver "$f")" "$SDIR/latest.raw" "$SDIR/qemu.$f"
  done
  timed ours_image_qcow2_compress --prepare prep_image_out -- "$BIN" restore "$MACHINE" "$SDIR/image.qcow2z" --format qcow2 --compress --store "$STORE"
  timed qemu_convert_qcow2_zstd --prepare prep_qemu_out -- qemu-img convert -c -o compression_type=zstd -f raw -O qcow2 "$SDIR/latest.raw" "$SDIR/qemu.qcow2z"
  set_value compressed_sizes "$(stat -c %s "$SDIR/image.qcow2z") $(stat -c %s "$SDIR/qemu.qcow2z")"
  timed ours_image_update_qcow2 --prepare prep_update --stdout "$SDIR/update.json" -- "$BIN" restore "$MACHINE" "$SDIR/update.qcow2" --store "$STORE" --json
  set_value update_bytes "$(json_field "$SDIR/update.json" bytesWritten)"
  rm -f "$SDIR"/image.* "$SDIR"/qemu.* "$SDIR/update.qcow2" "$SDIR/latest.raw"
}
MEASUREMENTS+=(images)

target_images() {
  local label f ours base r
  for label in "${SIZE_LABELS[@]}"; do
    for f in $IMAGE_FORMATS; do
      ours=$(get_secs "$label" "ours_image_$f"); base=$(get_secs "$label" "qemu_convert_$f")
      [[ -n $ours && -n $base ]] || continue
      r=$(ratio "$ours" "$base")
      target_row "full $f build / qemu-img convert raw→$f" "$label" "$r ($ours s / $base s)" "≤ 1.0" "$r" '<=' 1.0
    done
    ours=$(get_secs "$label" ours_image_qcow2_compress); base=$(get_secs "$label" qemu_convert_qcow2_zstd)
    if [[ -n $ours && -n $base ]]; then
      r=$(ratio "$ours" "$base")
      target_row "qcow2 --compress / qemu-img convert -c zstd" "$label" "$r ($ours s / $base s; sizes $(get_value "$label" compressed_sizes))" "≤ 0.33" "$r" '<=' 0.33
    fi
    ours=$(get_secs "$label" ours_image_update_qcow2); base=$(get_secs "$label" ours_image_qcow2)
    if [[ -n $ours && -n $base ]]; then
      r=$(ratio "$ours" "$base")
      target_row "qcow2 update after ${MUTATE_PERCENT}% change / full build" "$label" "$r ($ours s / $base s; $(get_value "$label" update_bytes) B written)" "≤ 0.05" "$r" '<=' 0.05
    fi
  done
  local rss max=0 step
  for step in ours_image_qcow2 ours_image_vmdk ours_image_vhd ours_image_vhdx ours_image_qcow2_compress ours_image_update_qcow2; do
    rss=$(get_rss "$LARGEST_LABEL" "$step"); [[ -n $rss ]] && (( rss > max )) && max=$rss
  done
  (( max > 0 )) && target_row "peak RSS of image builds (largest disk)" "$LARGEST_LABEL" "$(rss_mib "$max") MiB" "≤ 256 MiB" "$max" '<=' $(( 256 * 1024 ))
  return 0
}
TARGETS+=(target_images)
