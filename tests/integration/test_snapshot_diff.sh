#!/usr/bin/env bash
# timeout: 90
# Diff snapshots and femtovm-snap-merge (DESIGN.md §7, issue 7), with the
# count guest (no virtio devices):
#   a. boot with track_dirty_pages; pause, Full (base), resume, count on,
#      pause, Diff (d1) and a Full (f1) of the same paused memory, kill.
#      The Full memory file is exactly the RAM size with few allocated
#      blocks (zero pages are holes); d1 is far smaller.
#   b. cp base -> merged, femtovm-snap-merge merged d1: byte-equal to f1
#      (no written page missed); a fresh monitor loads d1's state with
#      merged memory (resume_vm, track_dirty_pages): the count goes on from
#      exactly where d1 was taken.
#      A snapshot onto the memory file the VM was loaded from is refused,
#      as a memory and as a state file. Before d1: a Diff whose state file
#      cannot be written (and one naming one file twice) fails, and d1
#      still has every page it took.
#   c. count on, pause, Diff (d2) relative to the load (and Full f2), kill;
#      merge d2 onto merged (equal to f2); load again without
#      track_dirty_pages (the load decides, as Firecracker): goes on from
#      where d2 was taken, and a Diff of it is refused.
#   d. refusals: Diff of a VM booted without tracking (400 naming
#      track_dirty_pages); femtovm-snap-merge usage, same file, size
#      mismatch, missing base, --help.
#   e. device writes: the snap guest (virtio-blk, -net, -vsock busy; its
#      own network namespace) with tracking: Full, resume, ping and a vsock
#      echo (device writes into guest RAM bypass KVM's dirty log), pause,
#      Diff and Full; base + Diff equals the Full byte for byte.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"
# shellcheck source=tests/integration/snap_lib.sh
. "$(dirname "$0")/snap_lib.sh"

snap_test_init
require_cmd ip
require_cmd ping
require_cmd socat
SNAP_GUEST=$(require_guest snap/snap.elf)
MERGE=$(dirname "$FEMTOVM")/femtovm-snap-merge  # built next to the monitor
[ -x "$MERGE" ] || fail "merge tool not built: $MERGE (run make all)"
SNAP_MIB=128
T=$TEST_TMP

create() { # TYPE NAME: PUT /snapshot/create of $T/NAME.state + $T/NAME.mem
    api PUT /snapshot/create "{\"snapshot_path\":\"$T/$2.state\",\"mem_file_path\":\"$T/$2.mem\",\"snapshot_type\":\"$1\"}"
    [ "$API_CODE" = 204 ] && return 0
    sleep 0.2 # dead but not reaped yet is a zombie, which kill -0 still sees
    if [ ! -e "/proc/$FVM_PID" ] || grep -q '^State:.*zombie' "/proc/$FVM_PID/status"; then
        local rc=0
        wait "$FVM_PID" 2>/dev/null || rc=$?
        # 128 + SIGSYS: the event loop's seccomp filter lacks a syscall.
        [ "$rc" != 159 ] || fail "$1 snapshot: monitor killed by its seccomp filter (SIGSYS); does src/jail/seccomp_rules.c allow KVM_GET_DIRTY_LOG?"
        fail "$1 snapshot: monitor died (exit $rc)"
    fi
    fail "$1 snapshot: HTTP $API_CODE: $API_BODY"
}
load() { # STATE MEM [extra JSON fields]
    expect_api 204 PUT /snapshot/load "{\"snapshot_path\":\"$1\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$2\"},\"resume_vm\":true${3:+,$3}}"
}
kib() { du -k "$1" | cut -f1; }  # allocated size
count_on() { # resume and let the guest print 5 more numbers
    local now
    expect_api 204 PATCH /vm '{"state":"Resumed"}'
    now=$(numbers "$SERIAL" | tail -n 1)
    wait_for_patterns "$SERIAL" 10 "^count: $((now + 5))\$" || { show_outputs "$SERIAL"; fail "no counting after resume"; }
}

# --- a. Full, then Diff ---
start_fvm orig
boot_count 1 '"track_dirty_pages":true'
expect_api 204 PATCH /vm '{"state":"Paused"}'
create Full base
count_on
expect_api 204 PATCH /vm '{"state":"Paused"}'
# A snapshot whose state file cannot be written does not exist: the pages
# it took stay dirty for d1 (else base + d1 would miss them below).
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$T/no/such/dir/x.state\",\"mem_file_path\":\"$T/x.mem\",\"snapshot_type\":\"Diff\"}" 'cannot write state file'
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$T/x.mem\",\"mem_file_path\":\"$T/x.mem\",\"snapshot_type\":\"Diff\"}" 'same file'
create Diff d1
create Full f1   # the same paused memory, whole: what base + d1 must equal
femtovm_alive || fail "monitor died taking snapshots"
kill_fvm
ORIG=$SERIAL

size=$(stat -c %s "$T/base.mem")
assert_eq $((SNAP_MIB << 20)) "$size" "Full memory file size"
assert_eq $((SNAP_MIB << 20)) "$(stat -c %s "$T/d1.mem")" "Diff memory file size"
full_kib=$(kib "$T/base.mem") d1_kib=$(kib "$T/d1.mem")
info "Full: apparent $((size >> 10)) KiB, allocated $full_kib KiB; Diff: allocated $d1_kib KiB"
[ "$full_kib" -lt $((SNAP_MIB * 1024 / 50)) ] || fail "Full memory file allocates $full_kib KiB of $((SNAP_MIB * 1024)): zero pages not left as holes"
[ "$d1_kib" -gt 0 ] || fail "Diff memory file is empty: the guest's writes were not tracked"
[ $((d1_kib * 2)) -le "$full_kib" ] || fail "Diff ($d1_kib KiB) not much smaller than the Full ($full_kib KiB)"

# --- b. merge d1 onto a copy of the base, load, continue ---
cp --sparse=always "$T/base.mem" "$T/merged.mem"
"$MERGE" "$T/merged.mem" "$T/d1.mem" || fail "femtovm-snap-merge failed (exit $?)"
cmp -s "$T/base.mem" "$T/merged.mem" && fail "merging d1 changed nothing"
cmp "$T/merged.mem" "$T/f1.mem" || fail "base + d1 differs from the memory at d1's moment: a written page was not tracked"
start_fvm restored1
load "$T/d1.state" "$T/merged.mem" '"track_dirty_pages":true'
expect_api 200 GET / '' '"state":"Running"'
counts_go_on_from "$ORIG" "base + d1"
info "ok base + d1 merged: the count goes on from $(numbers "$ORIG" | tail -n 1)"

# A snapshot onto the file this VM's memory was loaded from is refused
# (truncating it would pull pages from under the guest).
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$T/x.state\",\"mem_file_path\":\"$T/merged.mem\",\"snapshot_type\":\"Full\"}" 'loaded from'
[ ! -e "$T/x.state" ] || fail "a state file was written for a refused snapshot"
assert_eq $((SNAP_MIB << 20)) "$(stat -c %s "$T/merged.mem")" "memory file size after the refused snapshot"
# ... and so is a state file written over it.
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$T/merged.mem\",\"mem_file_path\":\"$T/x2.mem\",\"snapshot_type\":\"Full\"}" 'loaded from'
cmp "$T/merged.mem" "$T/f1.mem" || fail "the loaded memory file changed under a refused snapshot"

# --- c. a second Diff, relative to the load ---
count_on
expect_api 204 PATCH /vm '{"state":"Paused"}'
create Diff d2
create Full f2
kill_fvm
RESTORED1=$SERIAL
info "second Diff: allocated $(kib "$T/d2.mem") KiB"
"$MERGE" "$T/merged.mem" "$T/d2.mem" || fail "femtovm-snap-merge of d2 failed"
cmp "$T/merged.mem" "$T/f2.mem" || fail "base + d1 + d2 differs from the memory at d2's moment"
start_fvm restored2
load "$T/d2.state" "$T/merged.mem"
counts_go_on_from "$RESTORED1" "base + d1 + d2"
info "ok base + d1 + d2 merged: the count goes on from $(numbers "$RESTORED1" | tail -n 1)"
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$T/d3.state\",\"mem_file_path\":\"$T/d3.mem\",\"snapshot_type\":\"Diff\"}" 'track_dirty_pages'

kill_fvm

# --- d. refusals ---
# A VM booted without tracking: Diff refused, naming the setting.
start_fvm notrack
boot_count 1 '' 1
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 400 PUT /snapshot/create "{\"snapshot_path\":\"$T/n.state\",\"mem_file_path\":\"$T/n.mem\",\"snapshot_type\":\"Diff\"}" 'track_dirty_pages'
[ ! -e "$T/n.state" ] || fail "a state file was written for a refused Diff"
femtovm_alive || fail "monitor died on a refused Diff"
kill_fvm

rc=0; "$MERGE" >/dev/null 2>"$T/usage.err" || rc=$?
assert_exit 2 $rc "femtovm-snap-merge without arguments"
assert_grep "$T/usage.err" 'Usage: femtovm-snap-merge BASE_MEM DIFF_MEM'
rc=0; "$MERGE" "$T/merged.mem" "$T/merged.mem" 2>"$T/same.err" || rc=$?
assert_exit 2 $rc "femtovm-snap-merge of a file onto itself"
assert_grep "$T/same.err" 'same file'
head -c $((1 << 20)) "$T/d1.mem" >"$T/short.mem"
rc=0; "$MERGE" "$T/merged.mem" "$T/short.mem" 2>"$T/size.err" || rc=$?
assert_exit 1 $rc "femtovm-snap-merge of a diff of another size"
assert_grep "$T/size.err" 'size mismatch'
rc=0; "$MERGE" "$T/missing.mem" "$T/d1.mem" 2>"$T/missing.err" || rc=$?
assert_exit 1 $rc "femtovm-snap-merge onto a missing base"
assert_grep "$T/missing.err" "cannot open $T/missing.mem"
"$MERGE" --help | grep -q 'Exit status' || fail "--help lacks the exit status"
info "ok refusals"

# --- e. device writes are in the Diff ---
NS=fvmdiff$$
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
# shellcheck source=tests/integration/net_lib.sh
. "$(dirname "$0")/net_lib.sh"
net_setup
truncate -s 1M "$T/disk.img"
start_fvm devices
boot_snap_guest "$SNAP_GUEST" "$GUEST_IP" "$T/disk.img" tap0 06:00:ac:10:00:02 "$T/v.sock" '"track_dirty_pages":true'
expect_api 204 PATCH /vm '{"state":"Paused"}'
create Full dev-base
expect_api 204 PATCH /vm '{"state":"Resumed"}'
# Net RX (frames written into the guest's receive buffers), vsock RX (the
# echoed bytes' way in), blk (status bytes) and every used ring.
nsx ping -c 3 -i 0.2 -W 2 "$GUEST_IP" >"$T/ping" 2>&1 || { cat "$T/ping"; show_outputs "$SERIAL"; fail "ping the snap guest"; }
got=$( (printf 'CONNECT 5000\ndiff-echo\n'; sleep 0.5) | timeout 10 socat - "UNIX-CONNECT:$T/v.sock") || true
grep -qx 'diff-echo' <<<"$got" || { show_outputs "$SERIAL"; fail "vsock echo: '$got'"; }
count_on
expect_api 204 PATCH /vm '{"state":"Paused"}'
create Diff dev-d1
create Full dev-f1
kill_fvm
cp --sparse=always "$T/dev-base.mem" "$T/dev-merged.mem"
"$MERGE" "$T/dev-merged.mem" "$T/dev-d1.mem" || fail "femtovm-snap-merge of the devices' Diff failed"
cmp "$T/dev-merged.mem" "$T/dev-f1.mem" ||
    fail "base + Diff differs from the memory at the Diff's moment: a device write was not tracked"
info "ok device writes tracked: Diff $(kib "$T/dev-d1.mem") KiB, Full $(kib "$T/dev-f1.mem") KiB"
