#!/usr/bin/env bash
# timeout: 180
# Full snapshot of a VM whose three virtio devices are busy (DESIGN.md §7,
# issue 7), with the snap guest (tests/guest/snap): it counts like the
# count guest, writes "snap count <n>\n" to sector 0 of its drive after
# every number, answers ping, and echoes vsock connections to port 5000.
#   a. boot through the API with a drive, tap0 and vsock on uds A: ping,
#      vsock echo (one connection held open), sector 0 holds a recent count;
#   b. pause, snapshot (Full), kill -9;
#   c. a fresh monitor loads it with resume_vm, network_overrides (tap1:
#      the host address moved there, tap0 down) and vsock_override (uds B);
#   d. the serial stream goes on from exactly last+1 (no gap, no repeat),
#      the guest got a vsock TRANSPORT_RESET and dropped the held
#      connection, new blk writes land, ping works through tap1, new vsock
#      connections through uds B echo exact bytes, GET /vm/config shows
#      tap1 and uds B;
#   e. refused loads: an iface_id the snapshot lacks, a malformed
#      vsock_override, vsock_override for a snapshot without vsock, and a
#      load after PUT /drives.
# Everything network runs in a namespace of its own (net_lib.sh).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"
# shellcheck source=tests/integration/snap_lib.sh
. "$(dirname "$0")/snap_lib.sh"

require_root
require_kvm
require_femtovm
require_cmd curl
require_cmd ip
require_cmd ping
require_cmd socat
require_cmd python3
GUEST=$(require_guest snap/snap.elf)
COUNT=$(require_guest count.elf)
CLIENT="$(dirname "$0")/vsock_client.py"

NS=fvmsnap$$
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
GUEST_MAC=06:00:ac:10:00:02
# shellcheck source=tests/integration/net_lib.sh
. "$(dirname "$0")/net_lib.sh"
net_setup
nsx ip tuntap add dev tap1 mode tap || skip "cannot create a second tap device"
nsx sysctl -qw net.ipv6.conf.tap1.disable_ipv6=1 || true

DISK=$TEST_TMP/disk.img
UDS_A=$TEST_TMP/a.vsock
UDS_B=$TEST_TMP/b.vsock
ST=$TEST_TMP/vm.state
MEM=$TEST_TMP/vm.mem
truncate -s 1M "$DISK"

# monitor NAME: a fresh monitor (api_start); the previous one's serial
# output is kept as $TEST_TMP/<its name>.out. SERIAL = the new one's.
MON=
monitor() {
    if [ -n "$MON" ]; then
        kill -KILL "$FVM_PID" 2>/dev/null || true
        wait "$FVM_PID" 2>/dev/null || true
        mv "$TEST_TMP/serial" "$TEST_TMP/$MON.out"
        mv "$TEST_TMP/serial.err" "$TEST_TMP/$MON.out.err"
    fi
    rm -f "$TEST_TMP/api.sock"
    MON=$1
    # shellcheck disable=SC2119 # no extra femtovm arguments
    api_start
    SERIAL=$TEST_TMP/serial
}
# disk_count: n from sector 0 of the drive, which must be exactly
# "snap count <n>\n" and zeros (re-read a few times: a write may be landing).
disk_count() {
    local s=$TEST_TMP/sector n _
    for _ in 1 2 3 4 5; do
        head -c 512 "$DISK" >"$s"
        n=$(head -n 1 "$s" | tr -d '\0' | sed -n 's/^snap count \([0-9][0-9]*\)$/\1/p')
        if [ -n "$n" ] &&
            { printf 'snap count %s\n' "$n"; head -c $((512 - 12 - ${#n})) /dev/zero; } | cmp -s - "$s"; then
            echo "$n"
            return 0
        fi
        sleep 0.1
    done
    od -A d -c "$s" | head -n 5 >&2
    return 1
}
# load_json [EXTRA]: the PUT /snapshot/load body, EXTRA fields appended.
load_json() {
    printf '{"snapshot_path":"%s","mem_backend":{"backend_type":"File","backend_path":"%s"},"resume_vm":true%s}' \
        "$ST" "$MEM" "${1:+,$1}"
}
# vsock_echo UDS LINE: one socat connection to port 5000: "OK <port>" then
# LINE echoed exactly. VSOCK_PORT = the host port.
vsock_echo() {
    local got
    got=$( (printf 'CONNECT 5000\n%s\n' "$2"; sleep 1) | timeout 10 socat - "UNIX-CONNECT:$1") || true
    printf '%s\n' "$got" | sed -n 1p | grep -qE '^OK [0-9]+$' || { show_outputs "$SERIAL"; fail "vsock via $1: no OK line: '$got'"; }
    [ "$(printf '%s\n' "$got" | sed -n 2p)" = "$2" ] || { show_outputs "$SERIAL"; fail "vsock via $1: echo '$got'"; }
    VSOCK_PORT=$(printf '%s\n' "$got" | sed -n '1s/^OK //p')
}
ping_ok() { # WHAT
    if ! nsx ping -c 3 -i 0.2 -W 2 "$GUEST_IP" >"$TEST_TMP/ping" 2>&1 ||
        ! grep -q ' 3 received, 0% packet loss' "$TEST_TMP/ping"; then
        cat "$TEST_TMP/ping"
        show_outputs "$SERIAL"
        fail "ping $1"
    fi
}

# --- a. boot with a drive, tap0 and vsock on uds A ------------------------
monitor orig
boot_snap_guest "$GUEST" "$GUEST_IP" "$DISK" tap0 "$GUEST_MAC" "$UDS_A"
assert_grep_fixed "$SERIAL" "snap: net mac=$GUEST_MAC"
assert_grep_fixed "$SERIAL" "snap: vsock cid=3 listen=5000"

# The first vsock connection stays open across the snapshot: the restored
# monitor numbers its host ports from the start again, so the guest sees
# the same (port, port) pair once more and must have forgotten this one.
python3 - "$UDS_A" >"$TEST_TMP/held.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"CONNECT 5000\n")
f = s.makefile("rb")
print(f.readline().decode().strip(), flush=True)
s.sendall(b"held\n")
print(f.readline().decode().strip(), flush=True)
f.read()  # until the monitor dies
PY
HELD_PID=$!
FVM_PIDS+=("$HELD_PID")
for _ in $(seq 1 50); do [ "$(wc -l <"$TEST_TMP/held.out")" -ge 2 ] && break; sleep 0.1; done
if ! grep -qE '^OK [0-9]+$' "$TEST_TMP/held.out" || [ "$(sed -n 2p "$TEST_TMP/held.out")" != held ]; then
    show_outputs "$SERIAL"
    fail "held vsock connection: '$(cat "$TEST_TMP/held.out")'"
fi
held_port=$(sed -n '1s/^OK //p' "$TEST_TMP/held.out")
vsock_echo "$UDS_A" "before the snapshot"
python3 "$CLIENT" echo "$UDS_A" 5000 100000 || { show_outputs "$SERIAL"; fail "vsock 100000-byte echo before the snapshot"; }
ping_ok "before the snapshot"
# Two of the three connections are closed (the guest got the host's RST).
wait_for_patterns "$SERIAL" 10 '^snap: vsock stats accepted=3 refused=0 closed=2 ' ||
    { show_outputs "$SERIAL"; fail "guest did not see 3 connections, 2 closed"; }
l1=$(numbers "$SERIAL" | tail -n 1)
k=$(disk_count) || fail "sector 0 is not 'snap count <n>\\n' and zeros"
l2=$(numbers "$SERIAL" | tail -n 1)
if [ "$k" -lt $((l1 - 1)) ] || [ "$k" -gt "$l2" ]; then fail "sector 0 holds count $k, expected $((l1 - 1))..$l2"; fi
info "ok before the snapshot: ping, vsock echo (held connection on host port $held_port), sector 0 = count $k"

# --- b. pause, snapshot, kill -9 ------------------------------------------
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$ST\",\"mem_file_path\":\"$MEM\",\"snapshot_type\":\"Full\"}"
sleep 0.3
last=$(numbers "$SERIAL" | tail -n 1)
k=$(disk_count) || fail "sector 0 is not 'snap count <n>\\n' and zeros at the snapshot"
# The guest writes n right after printing it; in-flight requests are
# drained before saving.
if [ "$k" -lt $((last - 1)) ] || [ "$k" -gt "$last" ]; then fail "sector 0 holds count $k at the snapshot, last printed $last"; fi
[ "$(stat -c %s "$MEM")" = $((64 << 20)) ] || fail "memory file is not 64 MiB"
kill -KILL "$FVM_PID"
wait "$HELD_PID" 2>/dev/null || true
info "snapshot at count $last (sector 0: $k)"

# --- e. refused loads (each leaves the monitor "Not started") -------------
# A snapshot with no devices, for vsock_override / network_overrides.
monitor plain
expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$COUNT\",\"boot_args\":\"console=ttyS0\"}"
expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":32}'
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$SERIAL" 20 '^count: 2$' || { show_outputs "$SERIAL"; fail "count guest did not count"; }
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$TEST_TMP/plain.state\",\"mem_file_path\":\"$TEST_TMP/plain.mem\",\"snapshot_type\":\"Full\"}"
monitor bad
plain="{\"snapshot_path\":\"$TEST_TMP/plain.state\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$TEST_TMP/plain.mem\"},\"resume_vm\":true"
expect_api 400 PUT /snapshot/load "$plain,\"vsock_override\":{\"uds_path\":\"$UDS_B\"}}" 'vsock_override: the snapshot has no vsock device'
expect_api 400 PUT /snapshot/load "$plain,\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap1\"}]}" 'network_overrides: the snapshot has no network interface \\"eth0\\"'
expect_api 200 GET / '' '"state":"Not started"'
expect_api 400 PUT /snapshot/load "$(load_json '"network_overrides":[{"iface_id":"eth9","host_dev_name":"tap1"}]')" 'network_overrides: the snapshot has no network interface \\"eth9\\"'
expect_api 400 PUT /snapshot/load "$(load_json '"vsock_override":{}')" 'vsock_override\.uds_path'
expect_api 200 GET / '' '"state":"Not started"'
[ ! -e "$UDS_B" ] || fail "a refused load created $UDS_B"
expect_api 204 PUT /drives/scratch "{\"drive_id\":\"scratch\",\"path_on_host\":\"$DISK\",\"is_root_device\":false,\"is_read_only\":false}"
expect_api 400 PUT /snapshot/load "$(load_json)" 'configure none before loading'
expect_api 200 GET / '' '"state":"Not started"'
assert_not_grep "$SERIAL" '^(count|snap):' "a refused load ran the guest"
info "ok refused: unknown iface_id, malformed vsock_override, overrides for a snapshot without devices, load after PUT /drives"

# --- c. restore in a fresh monitor, on tap1 and uds B ---------------------
nsx ip addr del "$HOST_IP/24" dev tap0
nsx ip link set tap0 down
nsx ip addr add "$HOST_IP/24" dev tap1
nsx ip link set tap1 up
monitor restored
expect_api 204 PUT /snapshot/load "$(load_json "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap1\"}],\"vsock_override\":{\"uds_path\":\"$UDS_B\"}")"
expect_api 200 GET / '' '"state":"Running"'

# --- d. the guest goes on, its devices work -------------------------------
wait_for_patterns "$SERIAL" 15 "^count: $((last + 5))\$" '^snap: vsock transport reset$' ||
    { show_outputs "$SERIAL"; fail "restored guest did not reach $((last + 5)) with a transport reset"; }
assert_grep "$SERIAL" '^snap: vsock dropped 1 connections, cid=3$' "the guest did not drop exactly the held connection"
# The serial stream across both processes: 1, 2, ... without a gap or a
# repeat (a line cut by the pause is completed by the restored VM).
numbers "$TEST_TMP/orig.out" "$SERIAL" >"$TEST_TMP/all"
n=$(wc -l <"$TEST_TMP/all")
seq 1 "$n" | cmp -s - "$TEST_TMP/all" || {
    seq 1 "$n" | diff - "$TEST_TMP/all" | head -n 10
    fail "count sequence across the snapshot has a gap or a repeat"
}
if [ -z "$(tail -c 1 "$TEST_TMP/orig.out")" ]; then
    first=$(numbers "$SERIAL" | head -n 1)
    [ "$first" = $((last + 1)) ] || fail "restored guest printed $first first, expected $((last + 1))"
fi
# New blk writes land.
for _ in $(seq 1 30); do
    k=$(disk_count) || fail "sector 0 is not 'snap count <n>\\n' and zeros after the restore"
    [ "$k" -gt "$last" ] && break
    sleep 0.1
done
[ "$k" -gt "$last" ] || fail "sector 0 still holds count $k (snapshot at $last)"
[ "$k" -le "$(numbers "$SERIAL" | tail -n 1)" ] || fail "sector 0 holds count $k, beyond what the guest printed"
info "ok restored: counts $((last + 1))... go on (1..$n, no gap, no repeat), transport reset, sector 0 = count $k"

ping_ok "through tap1 after the restore"
# uds A is dead (its monitor was killed), uds B answers.
if timeout 5 socat -u /dev/null "UNIX-CONNECT:$UDS_A" 2>/dev/null; then
    fail "something still listens on the old uds path $UDS_A"
fi
vsock_echo "$UDS_B" "after the restore"
[ "$VSOCK_PORT" != "$held_port" ] || info "the new connection has host port $VSOCK_PORT, as the held one had"
python3 "$CLIENT" echo "$UDS_B" 5000 100000 3 || { show_outputs "$SERIAL"; fail "vsock echo through uds B"; }
expect_api 200 GET /vm/config '' '"host_dev_name":"tap1"'
expect_api 200 GET /vm/config '' "\"uds_path\":\"$UDS_B\""
wait_for_patterns "$SERIAL" 10 '^snap: vsock stats accepted=7 refused=0 closed=6 ' ||
    { show_outputs "$SERIAL"; fail "guest did not count 4 new connections (7 in all, 6 closed: the held one was dropped, not closed)"; }
now=$(numbers "$SERIAL" | tail -n 1)
wait_for_patterns "$SERIAL" 10 "^count: $((now + 3))\$" || fail "counting stopped after the device checks"
femtovm_alive || fail "restored monitor died"
assert_not_grep "$SERIAL" 'FAIL|exception|failed' "restored guest reported a failure"
assert_not_grep "$TEST_TMP/orig.out" 'FAIL|exception|failed' "original guest reported a failure"
info "ok after the restore: ping via tap1, vsock via uds B (4 connections, exact bytes), /vm/config shows both overrides"
