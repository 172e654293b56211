#!/usr/bin/env bash
# timeout: 180
# Full snapshots (DESIGN.md §7): boot the count guest through the API (1 and
# 2 vCPUs), pause, PUT /snapshot/create, kill the monitor, load the snapshot
# into a fresh monitor with resume_vm and check the guest goes on from the
# next number: "count: <last+1>" first, then onwards, no gap, no repeat.
# Also the refusals: create while running, load into a started VM, a
# corrupted / truncated state file, a memory file of the wrong size, and a
# VM with a drive.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_root
require_kvm
require_cmd curl
require_femtovm
COUNT=$(require_guest count.elf)

# start_fvm NAME: a monitor on $TEST_TMP/NAME.sock, serial -> $TEST_TMP/NAME.out
start_fvm() {
    API_SOCK="$TEST_TMP/$1.sock"
    SERIAL="$TEST_TMP/$1.out"
    : >"$SERIAL"
    "$FEMTOVM" --api-sock "$API_SOCK" >"$SERIAL" 2>"$SERIAL.err" </dev/null &
    FVM_PID=$!
    FVM_PIDS+=("$FVM_PID")
    local _
    for _ in $(seq 1 100); do
        [ -S "$API_SOCK" ] && return 0
        femtovm_alive || { cat "$SERIAL.err"; fail "femtovm exited before listening"; }
        sleep 0.05
    done
    fail "API socket $API_SOCK did not appear"
}

# numbers FILE: the counts on complete lines of FILE.
numbers() {
    local snap=$TEST_TMP/numbers.tmp
    cat "$1" >"$snap"
    if [ -n "$(tail -c 1 "$snap")" ]; then sed -i '$d' "$snap"; fi
    sed -n 's/^count: \([0-9][0-9]*\)$/\1/p' "$snap"
}

boot_count() { # VCPUS
    expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$COUNT\",\"boot_args\":\"console=ttyS0\"}"
    expect_api 204 PUT /machine-config "{\"vcpu_count\":$1,\"mem_size_mib\":128}"
    expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
    wait_for_patterns "$SERIAL" 20 '^count: 5$' || { show_outputs "$SERIAL"; fail "count guest did not count to 5"; }
}

kill_fvm() {
    kill -KILL "$FVM_PID" 2>/dev/null || true
    wait "$FVM_PID" 2>/dev/null || true
}

round_trip() { # VCPUS
    local vcpus=$1 st=$TEST_TMP/snap$1.state mem=$TEST_TMP/snap$1.mem
    start_fvm "orig$vcpus"
    boot_count "$vcpus"
    expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$st\",\"mem_file_path\":\"$mem\"}" 'paused'
    expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$st\",\"mem_file_path\":\"$mem\",\"snapshot_type\":\"Diff\"}" 'not supported yet'
    expect_api 204 PATCH /vm '{"state":"Paused"}'
    expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$st\",\"mem_file_path\":\"$mem\",\"snapshot_type\":\"Full\"}"
    sleep 0.3   # a line being written when the pause landed may still arrive
    local last orig=$SERIAL
    last=$(numbers "$orig" | tail -n 1)
    [ -n "$last" ] || fail "no count before the snapshot"
    [ "$(stat -c %s "$mem")" = $((128 << 20)) ] || fail "memory file is not 128 MiB"
    # A started VM cannot load a snapshot.
    expect_api 400 PUT /snapshot/load "{\"snapshot_path\":\"$st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":true}" 'not started'
    kill_fvm
    info "$vcpus vCPU(s): snapshot at count $last"

    start_fvm "restored$vcpus"
    expect_api 204 PUT /snapshot/load "{\"snapshot_path\":\"$st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$mem\"},\"resume_vm\":true}"
    expect_api 200 GET / '' '"state":"Running"'
    expect_api 200 GET /machine-config '' "\"vcpu_count\":$vcpus"
    wait_for_patterns "$SERIAL" 10 "^count: $((last + 5))\$" ||
        { show_outputs "$SERIAL"; fail "$vcpus vCPU(s): restored guest did not reach $((last + 5))"; }
    numbers "$SERIAL" >"$TEST_TMP/got"
    local n first
    first=$(head -n 1 "$TEST_TMP/got")
    [ "$first" = $((last + 1)) ] || { show_outputs "$SERIAL"; fail "$vcpus vCPU(s): restored guest printed $first first, expected $((last + 1))"; }
    n=$(wc -l <"$TEST_TMP/got")
    seq "$((last + 1))" "$((last + n))" | cmp -s - "$TEST_TMP/got" || {
        seq "$((last + 1))" "$((last + n))" | diff - "$TEST_TMP/got" | head -n 10
        fail "$vcpus vCPU(s): restored count sequence has a gap or a repeat"
    }
    # Pause and resume work on the restored VM too.
    expect_api 204 PATCH /vm '{"state":"Paused"}'
    expect_api 204 PATCH /vm '{"state":"Resumed"}'
    local now
    now=$(numbers "$SERIAL" | tail -n 1)
    wait_for_patterns "$SERIAL" 10 "^count: $((now + 3))\$" || fail "no progress after pause/resume of the restored VM"
    assert_not_grep "$SERIAL" 'exception' "restored guest took an exception"
    kill_fvm
    info "ok $vcpus vCPU(s): resumed at $((last + 1)), $n numbers, no gap, no repeat"
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

# A VM with a drive: snapshot refused (not supported yet).
start_fvm drive
disk=$TEST_TMP/disk.img
truncate -s 1M "$disk"
expect_api 204 PUT /drives/scratch "{\"drive_id\":\"scratch\",\"path_on_host\":\"$disk\",\"is_root_device\":false,\"is_read_only\":false}"
boot_count 1
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$TEST_TMP/d.state\",\"mem_file_path\":\"$TEST_TMP/d.mem\"}" 'virtio devices are not supported yet'
femtovm_alive || fail "monitor died on a refused snapshot"
kill_fvm
info "ok snapshot of a VM with a drive refused"
