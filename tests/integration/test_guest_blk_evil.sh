#!/usr/bin/env bash
# timeout: 180
# A hostile virtio-blk driver (DESIGN.md §2, §5 "Virtio rules"): the
# blk-evil guest breaks one virtio 1.2 rule per case through a real queue or
# the virtio-mmio registers. For every case the monitor must stay up and
# exit 0 when the guest resets, log the violation (rate-limited), show the
# guest the state the spec asks for (DEVICE_NEEDS_RESET 0x40 for a broken
# ring, QueueReady 0 for refused geometry, FEATURES_OK not set for refused
# features, IOERR for bad requests it can answer, nothing written to a
# read-only status buffer) and work again after a device reset.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm
EVIL=$(require_guest blk-evil.elf)

img=$TEST_TMP/disk.img
head -c 1048576 /dev/zero >"$img"
sum=$(md5sum <"$img")

# case|observed line after "evil: <case> "|monitor-log ERE ("" = none needed)
# 0x4f = ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK|DEVICE_NEEDS_RESET.
BROKEN='status=0x4f ready=1 used=0 reqstatus=255 len=0'
GEOM='status=0x4f ready=0 used=0 reqstatus=255 len=0'
OKREQ='status=0xf ready=1 used=1 reqstatus=0 len=513'
IOERR='status=0xf ready=1 used=1 reqstatus=1 len=1'
REFUSED='status=0x3 ready=0 used=0 reqstatus=255 len=0'
NR='device needs reset: '
cases=(
    "loop|$BROKEN|${NR}descriptor chain longer than the queue"
    "next-range|$BROKEN|${NR}descriptor index out of range"
    "head-range|$BROKEN|${NR}descriptor index out of range"
    "avail-jump|$BROKEN|${NR}avail index moved by more than the queue size"
    "indirect-nested|$BROKEN|${NR}invalid indirect descriptor table"
    "indirect-long|$BROKEN|${NR}descriptor chain longer than the queue"
    "indirect-loop|$BROKEN|${NR}descriptor chain longer than the queue"
    "indirect-len|$BROKEN|${NR}invalid indirect descriptor table"
    "indirect-nofeat|$BROKEN|${NR}invalid indirect descriptor table"
    "indirect-next|$BROKEN|${NR}invalid indirect descriptor table"
    "indirect-oob|$BROKEN|${NR}buffer outside guest memory"
    "indirect-mixed|$OKREQ|"
    "oob|$BROKEN|${NR}buffer outside guest memory"
    "cross|$BROKEN|${NR}buffer outside guest memory"
    "hole|$BROKEN|${NR}buffer outside guest memory"
    "cross-hole|$BROKEN|${NR}buffer outside guest memory"
    "overflow|$BROKEN|${NR}buffer outside guest memory"
    "big-len|$BROKEN|${NR}buffer outside guest memory"
    "status-ro|status=0xf ready=1 used=1 reqstatus=255 len=0|request without a status byte: dropped"
    "order|$BROKEN|${NR}device-readable descriptor after a writable one"
    "short-hdr|$IOERR|"
    "split-hdr|$OKREQ|"
    "sector-overflow|$IOERR|"
    "partial|$IOERR|"
    "qsize-pow2|$GEOM|queue 0 geometry rejected \(size 15,"
    "qsize-big|$GEOM|queue 0 geometry rejected \(size 512,"
    "qsize-zero|$GEOM|queue 0 geometry rejected \(size 0,"
    "rings-oob|$GEOM|queue 0 geometry rejected \(size 16, desc 0x8000000,"
    "rings-cross|$GEOM|queue 0 geometry rejected .* used 0x7ffffc0\)"
    "rings-hole|$GEOM|queue 0 geometry rejected .* avail 0xfec00000,"
    "rings-high|$GEOM|queue 0 geometry rejected \(size 16, desc 0x10000"
    "ring-align|$GEOM|queue 0 geometry rejected \(size 16, desc 0x[0-9a-f]*8,"
    "late-queue|$OKREQ|queue register 0x38 written for queue 0 .*ignored"
    "features-unoffered|$REFUSED|features 0x130000246 not accepted \(offered 0x130000244\)"
    "features-noversion|$REFUSED|features 0x30000244 not accepted"
    "driver-ok-early|$REFUSED|status 0x3 -> 0x7 not allowed"
    "status-regress|$OKREQ|status 0xf -> 0x3 not allowed"
    "notify-bad|$OKREQ|"
)

# 1. One case per run: exact observed line, recovery, clean exit, log.
for c in "${cases[@]}"; do
    IFS='|' read -r name want logre <<<"$c"
    cfg=$TEST_TMP/$name.json
    out=$TEST_TMP/$name.out
    make_config "$cfg" "$EVIL" "console=ttyS0 evil=$name"
    # make_config has no drives: add the one the guest attacks.
    sed -i "s#^}\$#, \"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"$img\",\"is_root_device\":true,\"is_read_only\":false}]}#" "$cfg"
    start=$SECONDS
    femtovm_run_config "$cfg" 20 "$out"
    [ "$FVM_RC" -ne 124 ] || { show_outputs "$out"; fail "$name: monitor hung (killed after 20 s)"; }
    if [ "$FVM_RC" -ne 0 ] || [ "$(tail -n 1 "$out")" != "evil: done" ]; then
        show_outputs "$out"
        fail "$name: exit $FVM_RC, expected 0 after 'evil: done'"
    fi
    [ $((SECONDS - start)) -le 5 ] || fail "$name: took $((SECONDS - start)) s"
    got=$(sed -n "s/^evil: $name \(status=.*\)\$/\1/p" "$out")
    [ "$got" = "$want" ] || { show_outputs "$out"; fail "$name: guest saw '$got', expected '$want'"; }
    grep -qxF "evil: $name reset ok" "$out" || { show_outputs "$out"; fail "$name: device not usable after reset"; }
    if [ -n "$logre" ]; then
        grep -qE -- "Warning.*$logre" "$out.err" || { show_outputs "$out"; fail "$name: violation not logged (/$logre/)"; }
    fi
    case $want in
        "$OKREQ") assert_not_grep "$out.err" 'needs reset' "$name: valid request treated as a violation" ;;
    esac
done
[ "$(md5sum <"$img")" = "$sum" ] || fail "disk changed: no case writes to it"
info "ok ${#cases[@]} cases one by one"

# 2. RAM on both sides of the MMIO hole (5 GiB: 0-3 GiB and 4-6 GiB): the
#    buffers at and across the RAM ends, into the hole and rings there.
for name in oob cross cross-hole hole rings-oob rings-cross; do
    cfg=$TEST_TMP/high-$name.json
    out=$TEST_TMP/high-$name.out
    make_config "$cfg" "$EVIL" "console=ttyS0 evil=$name" 1 5120
    sed -i "s#^}\$#, \"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"$img\",\"is_root_device\":true,\"is_read_only\":false}]}#" "$cfg"
    femtovm_run_config "$cfg" 20 "$out"
    assert_exit 0 "$FVM_RC" "$name, 5 GiB: exit code"
    case $name in rings-*) want=$GEOM ;; *) want=$BROKEN ;; esac
    got=$(sed -n "s/^evil: $name \(status=.*\)\$/\1/p" "$out")
    [ "$got" = "$want" ] || { show_outputs "$out"; fail "$name, 5 GiB: guest saw '$got', expected '$want'"; }
    grep -qxF "evil: $name reset ok" "$out" || { show_outputs "$out"; fail "$name, 5 GiB: not usable after reset"; }
done
info "ok cases at the RAM ends with 5 GiB"

# 3. Every case in one run: same lines in order, log stays rate-limited.
cfg=$TEST_TMP/all.json
out=$TEST_TMP/all.out
make_config "$cfg" "$EVIL" "console=ttyS0 evil=all"
sed -i "s#^}\$#, \"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"$img\",\"is_root_device\":true,\"is_read_only\":false}]}#" "$cfg"
femtovm_run_config "$cfg" 30 "$out"
assert_exit 0 "$FVM_RC" "evil=all exit code"
for c in "${cases[@]}"; do
    IFS='|' read -r name want _ <<<"$c"
    printf 'evil: %s %s\nevil: %s reset ok\n' "$name" "$want" "$name"
done >"$TEST_TMP/want"
printf 'evil: done\n' >>"$TEST_TMP/want"
grep -v '^evil: start$' "$out" | diff - "$TEST_TMP/want" >"$TEST_TMP/diff" ||
    { cat "$TEST_TMP/diff"; fail "evil=all: lines differ"; }
warn=$(grep -c 'Warning' "$out.err" || true)
info "evil=all: $warn warning lines"
[ "$warn" -ge 10 ] && [ "$warn" -le 80 ] || fail "evil=all: $warn warning lines (expected some, rate-limited)"
info "ok all cases in one run"
