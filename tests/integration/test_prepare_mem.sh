#!/usr/bin/env bash
# timeout: 90
# --prepare-mem-mib: a monitor that creates its KVM VM and memory slots
# before any request.
#   a. boot with the prepared size: the prepared VM is used (logged) and
#      the count guest runs; pause, Full snapshot (with dirty tracking, so
#      the prepared slots get dirty logging switched on), kill.
#   b. load into a monitor prepared for that size: used, and the guest goes
#      on from exactly the next number; its Diff merged onto the loaded
#      file equals a Full of the same moment (dirty logging on the prepared
#      slots).
#   c. load into a monitor prepared for another size: built as usual
#      (logged), the guest goes on.
#   d. bad values: exit 2 naming the option.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"
# shellcheck source=tests/integration/snap_lib.sh
. "$(dirname "$0")/snap_lib.sh"

snap_test_init
T=$TEST_TMP
SNAP_MIB=128

load() { # STATE MEM [extra JSON fields]
    expect_api 204 PUT /snapshot/load "{\"snapshot_path\":\"$1\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$2\"},\"resume_vm\":true${3:+,$3}}"
}

# --- a ---
start_fvm booted --prepare-mem-mib 128
boot_count 1 '"track_dirty_pages":true'
assert_grep "$TEST_TMP/serial.err" 'using the KVM VM prepared for 128 MiB' "boot did not use the prepared VM"
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$T/s.state\",\"mem_file_path\":\"$T/s.mem\"}"
kill_fvm
BOOTED=$SERIAL
info "ok boot on the prepared VM, snapshot at count $(numbers "$BOOTED" | tail -n 1)"

# --- b ---
start_fvm prepared --prepare-mem-mib 128
load "$T/s.state" "$T/s.mem" '"track_dirty_pages":true'
assert_grep "$TEST_TMP/serial.err" 'using the KVM VM prepared for 128 MiB' "load did not use the prepared VM"
counts_go_on_from "$BOOTED" "prepared load"
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$T/d.state\",\"mem_file_path\":\"$T/d.mem\",\"snapshot_type\":\"Diff\"}"
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$T/f.state\",\"mem_file_path\":\"$T/f.mem\"}"
[ "$(du -k "$T/d.mem" | cut -f1)" -gt 0 ] || fail "the Diff of a prepared VM holds no page: dirty logging is off"
kill_fvm
cp --sparse=always "$T/s.mem" "$T/merged.mem"
"$(dirname "$FEMTOVM")/femtovm-snap-merge" "$T/merged.mem" "$T/d.mem" || fail "merge failed"
cmp "$T/merged.mem" "$T/f.mem" || fail "base + Diff of the prepared VM differs from its Full: a written page was missed"
info "ok load on the prepared VM goes on; its Diff holds $(du -k "$T/d.mem" | cut -f1) KiB"

# --- c ---
start_fvm other --prepare-mem-mib 256
load "$T/s.state" "$T/s.mem"
assert_grep "$TEST_TMP/serial.err" 'prepared for 256 MiB, the VM has 128 MiB: building it as usual' "no message for the unused prepared VM"
counts_go_on_from "$BOOTED" "load with another prepared size"
kill_fvm
info "ok another size is built as usual"

# --- d ---
for bad in 0 -5 x 1048577 ''; do
    rc=0
    "$FEMTOVM" --api-sock "$T/bad.sock" --prepare-mem-mib "$bad" >"$T/bad.out" 2>&1 </dev/null || rc=$?
    assert_eq 2 "$rc" "exit code for --prepare-mem-mib '$bad'"
    assert_grep "$T/bad.out" 'prepare-mem-mib' "no message naming the option for '$bad'"
done
"$FEMTOVM" --help | grep -q -- '--prepare-mem-mib MIB' || fail "--help does not describe --prepare-mem-mib"
info "ok bad values refused"
