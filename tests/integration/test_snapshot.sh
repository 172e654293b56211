#!/usr/bin/env bash
# timeout: 180
# Full snapshots (DESIGN.md §7): boot the count guest through the API (1 and
# 2 vCPUs), pause, PUT /snapshot/create, kill the monitor, load the snapshot
# into a fresh monitor with resume_vm and check the guest goes on from the
# next number, no gap, no repeat. Also the refusals: create while running,
# Diff without track_dirty_pages, load into a started VM, a corrupted /
# truncated state file, a memory file of the wrong size. (Diff snapshots:
# test_snapshot_diff.sh; VMs with virtio devices: test_snapshot_devices.sh.)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"
# shellcheck source=tests/integration/snap_lib.sh
. "$(dirname "$0")/snap_lib.sh"

snap_test_init

round_trip() { # VCPUS
    local vcpus=$1 st=$TEST_TMP/snap$1.state mem=$TEST_TMP/snap$1.mem
    start_fvm "orig$vcpus"
    boot_count "$vcpus"
    expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$st\",\"mem_file_path\":\"$mem\"}" 'paused'
    expect_api 204 PATCH /vm '{"state":"Paused"}'
    # Diff needs dirty-page tracking, which this VM was booted without.
    expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$st\",\"mem_file_path\":\"$mem\",\"snapshot_type\":\"Diff\"}" 'track_dirty_pages'
    [ ! -e "$st" ] || fail "a state file was written for a refused Diff"
    expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$st\",\"mem_file_path\":\"$mem\",\"snapshot_type\":\"Full\"}"
    local last orig
    sleep 0.3
    last=$(numbers "$SERIAL" | tail -n 1)
    [ -n "$last" ] || fail "no count before the snapshot"
    [ "$(stat -c %s "$mem")" = $((128 << 20)) ] || fail "memory file is not 128 MiB"
    # A started VM cannot load a snapshot.
    expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":true}" 'not started'
    kill_fvm
    orig=$SERIAL
    info "$vcpus vCPU(s): snapshot at count $last"

    start_fvm "restored$vcpus"
    expect_api 204 PUT /snapshot/load "{\"snapshot_path\":\"$st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":true}"
    expect_api 200 GET / '' '"state":"Running"'
    expect_api 200 GET /machine-config '' "\"vcpu_count\":$vcpus"
    counts_go_on_from "$orig" "$vcpus vCPU(s)"
    # Pause and resume work on the restored VM too.
    expect_api 204 PATCH /vm '{"state":"Paused"}'
    expect_api 204 PATCH /vm '{"state":"Resumed"}'
    local now
    now=$(numbers "$SERIAL" | tail -n 1)
    wait_for_patterns "$SERIAL" 10 "^count: $((now + 3))\$" || fail "no progress after pause/resume of the restored VM"
    assert_not_grep "$SERIAL" 'exception' "restored guest took an exception"
    kill_fvm
    info "ok $vcpus vCPU(s): resumed after $last, no gap, no repeat"
}

round_trip 1
round_trip 2

# Loading with resume_vm false leaves the VM paused; resuming continues.
st=$TEST_TMP/snap1.state mem=$TEST_TMP/snap1.mem
start_fvm paused
expect_api 204 PUT /snapshot/load "{\"snapshot_path\":\"$st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":false}"
expect_api 200 GET / '' '"state":"Paused"'
sleep 0.5
[ -z "$(numbers "$SERIAL")" ] || fail "paused restored guest printed something"
expect_api 204 PATCH /vm '{"state":"Resumed"}'
wait_for_patterns "$SERIAL" 10 '^count: [0-9]+$' || fail "no count after resuming a paused load"
kill_fvm
info "ok load paused, then resume"

# Refusals: each leaves a fresh monitor "Not started" and still usable.
start_fvm bad
load_expect_400() { # STATE MEM ERE
    expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$1\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$2\"},\"resume_vm\":true}" "$3"
    expect_api 200 GET / '' '"state":"Not started"'
}
cp "$st" "$TEST_TMP/corrupt.state"
size=$(stat -c %s "$st")
printf '\xff' | dd of="$TEST_TMP/corrupt.state" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$st" "$TEST_TMP/corrupt.state" && { printf '\x00' | dd of="$TEST_TMP/corrupt.state" bs=1 seek=$((size / 2)) conv=notrunc status=none; }
load_expect_400 "$TEST_TMP/corrupt.state" "$mem" 'CRC'
head -c $((size - 100)) "$st" >"$TEST_TMP/trunc.state"
load_expect_400 "$TEST_TMP/trunc.state" "$mem" 'cannot load snapshot'
head -c $((64 << 20)) "$mem" >"$TEST_TMP/short.mem"
load_expect_400 "$st" "$TEST_TMP/short.mem" 'cannot load snapshot'
load_expect_400 "$TEST_TMP/missing.state" "$mem" 'cannot load snapshot'
# The same monitor can still load the good snapshot afterwards.
expect_api 204 PUT /snapshot/load "{\"snapshot_path\":\"$st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":true}"
wait_for_patterns "$SERIAL" 10 '^count: [0-9]+$' || { show_outputs "$SERIAL"; fail "no count after the refused loads"; }
kill_fvm
info "ok corrupted, truncated, wrong-size memory and missing files refused"
