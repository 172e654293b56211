# shellcheck shell=bash
# Helpers for snapshot tests with the count guest (after lib.sh and
# api_lib.sh): one monitor per step, the guest's "count: <n>" lines, and
# the check that a restored guest goes on from exactly the next number.

# snap_test_init: what a count-guest snapshot test needs; sets COUNT.
snap_test_init() {
    require_root
    require_kvm
    require_cmd curl
    require_femtovm
    COUNT=$(require_guest count.elf)
}

# start_fvm NAME [femtovm args...]: a fresh monitor (api_start); SERIAL is
# its serial output. kill_fvm keeps that as $TEST_TMP/NAME.out (and the
# log as NAME.out.err) and points SERIAL there.
start_fvm() {
    FVM_NAME=$1
    shift
    rm -f "$TEST_TMP/api.sock"
    api_start "$@"
    SERIAL=$TEST_TMP/serial
}

kill_fvm() {
    kill -KILL "$FVM_PID" 2>/dev/null || true
    wait "$FVM_PID" 2>/dev/null || true
    mv "$TEST_TMP/serial" "$TEST_TMP/$FVM_NAME.out"
    mv "$TEST_TMP/serial.err" "$TEST_TMP/$FVM_NAME.out.err"
    SERIAL=$TEST_TMP/$FVM_NAME.out
}

# boot_count VCPUS [MACHINE_CONFIG_FIELDS] [N]: boot the count guest with
# ${SNAP_MIB:-128} MiB through the API and wait for "count: N" (default 5).
boot_count() {
    expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$COUNT\",\"boot_args\":\"console=ttyS0\"}"
    expect_api 204 PUT /machine-config "{\"vcpu_count\":$1,\"mem_size_mib\":${SNAP_MIB:-128}${2:+,$2}}"
    expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
    wait_for_patterns "$SERIAL" 20 "^count: ${3:-5}\$" ||
        { show_outputs "$SERIAL"; fail "count guest did not count to ${3:-5}"; }
}

# numbers FILE...: the counts on complete lines of the files, concatenated
# (a last line still being written is left out).
numbers() {
    local snap=$TEST_TMP/numbers.tmp
    cat "$@" >"$snap"
    if [ -n "$(tail -c 1 "$snap")" ]; then sed -i '$d' "$snap"; fi
    sed -n 's/^count: \([0-9][0-9]*\)$/\1/p' "$snap"
}

# counts_go_on_from PREV LABEL: the guest on $SERIAL, restored from a
# snapshot taken at the end of PREV (the serial output of the VM the
# snapshot was taken of, killed while paused), goes on from exactly where
# PREV stopped: PREV followed by $SERIAL reads as one count with no gap and
# no repeat (a line the pause cut in two is completed by the restored
# guest), at least 4 numbers past PREV's last.
counts_go_on_from() {
    local prev=$1 label=$2 last first n
    last=$(numbers "$prev" | tail -n 1)
    wait_for_patterns "$SERIAL" 10 "^count: $((last + 4))\$" ||
        { show_outputs "$SERIAL"; fail "$label: restored guest did not reach $((last + 4))"; }
    cat "$prev" "$SERIAL" >"$TEST_TMP/joined"
    numbers "$TEST_TMP/joined" >"$TEST_TMP/got"
    first=$(head -n 1 "$TEST_TMP/got")
    n=$(wc -l <"$TEST_TMP/got")
    seq "$first" "$((first + n - 1))" | cmp -s - "$TEST_TMP/got" || {
        show_outputs "$SERIAL"
        seq "$first" "$((first + n - 1))" | diff - "$TEST_TMP/got" | head -n 10
        fail "$label: the count has a gap or a repeat across the restore (last before: $last)"
    }
    assert_not_grep "$SERIAL" 'exception' "$label: restored guest took an exception"
}

# boot_snap_guest GUEST IP DISK TAP MAC UDS [MACHINE_CONFIG_FIELDS]: boot
# the snap guest (tests/guest/snap) through the API, 64 MiB, with drive
# "scratch" on DISK, eth0 on TAP with MAC, vsock CID 3 on UDS, answering on
# IP and vsock port 5000; wait for "snap: ready" and "count: 3".
boot_snap_guest() {
    expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$1\",\"boot_args\":\"console=ttyS0 snap.ip=$2 snap.port=5000\"}"
    expect_api 204 PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":64${7:+,$7}}"
    expect_api 204 PUT /drives/scratch "{\"drive_id\":\"scratch\",\"path_on_host\":\"$3\",\"is_root_device\":false,\"is_read_only\":false}"
    expect_api 204 PUT /network-interfaces/eth0 "{\"iface_id\":\"eth0\",\"host_dev_name\":\"$4\",\"guest_mac\":\"$5\"}"
    expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$6\"}"
    expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
    wait_for_patterns "$SERIAL" 20 '^snap: ready$' '^count: 3$' || { show_outputs "$SERIAL"; fail "snap guest not ready"; }
}
