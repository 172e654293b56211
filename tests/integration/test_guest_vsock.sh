#!/usr/bin/env bash
# timeout: 240
# virtio-vsock end to end with Firecracker's hybrid Unix-socket protocol
# (DESIGN.md §5) against the vsock test guest (tests/guest/vsock/vsock.c),
# which listens on port 5000 and echoes:
#   host→guest: real socat doing CONNECT/OK; a python client streaming
#               1 MiB each way; 100 connections at once; a port nobody
#               listens on (client closed without OK); bad CONNECT lines.
#   guest→host: the guest connects to <uds>_6000 (socat echo listener) and
#               checks 1 MiB echoed back; <uds>_6001 has no listener (RST).
#   uds_path:   a stale socket file is replaced; a live one is refused.
#   API:        PUT /vsock pre-boot, shown by GET /vm/config, metrics.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_root
require_kvm
require_cmd socat
require_cmd python3
require_femtovm
GUEST=$(require_guest vsock/vsock.elf)
CLIENT="$(dirname "$0")/vsock_client.py"
UDS=$TEST_TMP/v.sock

# vsock_config OUT KERNEL ARGS: config with a vsock device on $UDS, 64 MiB.
vsock_config() {
    make_config "$1" "$2" "$3" 1 64
    python3 - "$1" "$UDS" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["vsock"] = {"guest_cid": 3, "uds_path": sys.argv[2]}
json.dump(cfg, open(sys.argv[1], "w"))
PY
}

# --- host → guest --------------------------------------------------------
touch "$TEST_TMP/dummy"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$UDS"
[ -S "$UDS" ] || fail "could not create a stale socket file"
vsock_config "$TEST_TMP/h.json" "$GUEST" "console=ttyS0 vsock.listen=5000"
femtovm_start "$TEST_TMP/h.json" "$TEST_TMP/h.out"
wait_for_patterns "$TEST_TMP/h.out" 20 '^vsock: ready cid=3 listen=5000$' ||
    { show_outputs "$TEST_TMP/h.out"; fail "guest not ready"; }
info "ok stale uds_path replaced, guest ready"

# A second monitor on the same uds_path must refuse to start.
vsock_config "$TEST_TMP/dup.json" "$GUEST" "console=ttyS0"
femtovm_run_config "$TEST_TMP/dup.json" 10 "$TEST_TMP/dup.out"
[ "$FVM_RC" -ne 0 ] || fail "second monitor on a live uds_path started"
assert_grep "$TEST_TMP/dup.out.err" 'in use' "no 'in use' message for a live uds_path"
[ -S "$UDS" ] || fail "the failing monitor removed the live socket"
info "ok live uds_path refused"

# Real socat: CONNECT line (lower-case keyword too), OK, echo.
got=$( (printf 'CONNECT 5000\nhello vsock\n'; sleep 1) | timeout 10 socat - "UNIX-CONNECT:$UDS")
printf '%s\n' "$got" | head -n 1 | grep -qE '^OK [0-9]+$' || fail "socat: no OK line: '$got'"
port=$(printf '%s\n' "$got" | sed -n '1s/^OK //p')
[ "$port" -ge 1073741824 ] || fail "host port $port below 2^30"
[ "$(printf '%s\n' "$got" | sed -n 2p)" = "hello vsock" ] || fail "socat: echo wrong: '$got'"
got=$( (printf 'connect 5000\nlower\n'; sleep 1) | timeout 10 socat - "UNIX-CONNECT:$UDS")
[ "$(printf '%s\n' "$got" | sed -n 2p)" = "lower" ] || fail "lower-case CONNECT: '$got'"
info "ok socat CONNECT/OK echo (host port $port)"

python3 "$CLIENT" echo "$UDS" 5000 1048576 || { show_outputs "$TEST_TMP/h.out"; fail "1 MiB echo"; }
info "ok 1 MiB both ways"
python3 "$CLIENT" echo "$UDS" 5000 20000 100 || { show_outputs "$TEST_TMP/h.out"; fail "100 connections"; }
info "ok 100 connections at once"
python3 "$CLIENT" refused "$UDS" 5001 || fail "connection to an unused guest port not refused"
info "ok host→guest refused (no guest listener)"

# Bad CONNECT lines: the client is closed without an answer.
for bad in 'CONNECT x5000\n' 'CONNEKT 5000\n' 'CONNECT 99999999999\n' \
           'CONNECT 5000 5000 5000 5000 5000 5000 5000\n'; do
    got=$( (printf "$bad"; sleep 1) | timeout 10 socat - "UNIX-CONNECT:$UDS" || true)
    [ -z "$got" ] || fail "bad line '$bad' answered: '$got'"
done
info "ok bad CONNECT lines closed"
femtovm_alive || { show_outputs "$TEST_TMP/h.out"; fail "monitor died"; }
femtovm_stop
[ ! -e "$UDS" ] || fail "uds_path not removed at exit"

# --- guest → host --------------------------------------------------------
socat "UNIX-LISTEN:${UDS}_6000,fork" EXEC:cat &
SOCAT_PID=$!
FVM_PIDS+=("$SOCAT_PID")
for _ in $(seq 1 50); do [ -S "${UDS}_6000" ] && break; sleep 0.1; done
vsock_config "$TEST_TMP/g.json" "$GUEST" \
    "console=ttyS0 vsock.connect=6000 vsock.bytes=1048576 vsock.refuse=6001 vsock.quit"
femtovm_run_config "$TEST_TMP/g.json" 120 "$TEST_TMP/g.out"
if [ "$FVM_RC" -ne 0 ] || ! grep -q '^vsock: done$' "$TEST_TMP/g.out"; then
    show_outputs "$TEST_TMP/g.out"
    fail "guest → host run: exit $FVM_RC"
fi
assert_grep "$TEST_TMP/g.out" '^vsock: connect 6000 ok bytes=1048576$' "guest → host 1 MiB echo failed"
assert_grep "$TEST_TMP/g.out" '^vsock: connect 6001 refused$' "guest → host refusal not seen"
assert_not_grep "$TEST_TMP/g.out" 'FAIL'
kill "$SOCAT_PID" 2>/dev/null || true
info "ok guest → host 1 MiB echo and refusal"

# --- API: PUT /vsock, GET /vm/config, metrics ----------------------------
require_cmd curl
api_start --id vsock-vm
expect_api 400 PUT /vsock '{"guest_cid": 2, "uds_path": "/tmp/x"}' 'guest_cid: must be an integer from 3'
expect_api 400 PUT /vsock '{"guest_cid": 3}' 'uds_path: missing'
expect_api 204 PUT /vsock "{\"vsock_id\": \"v1\", \"guest_cid\": 7, \"uds_path\": \"$UDS\"}"
expect_api 200 GET /vm/config '' "\"vsock\":\\{\"vsock_id\":\"v1\",\"guest_cid\":7,\"uds_path\":\"[^\"]*v.sock\"\\}"
expect_api 204 PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"console=ttyS0\"}"
expect_api 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
expect_api 204 PUT /metrics "{\"metrics_path\": \"$TEST_TMP/metrics\"}"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$TEST_TMP/serial" 20 '^vsock: ready cid=7 ' || fail "API guest not ready"
expect_api 400 PUT /vsock "{\"guest_cid\": 8, \"uds_path\": \"$UDS\"}" 'not supported after starting'
python3 "$CLIENT" echo "$UDS" 5000 1000 || fail "echo through the API-configured device"
expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'
grep -qE '"vsock":\{"conns_added":1,.*"rx_bytes_count":1000,' "$TEST_TMP/metrics" ||
    fail "vsock metrics: $(cat "$TEST_TMP/metrics")"
info "ok API and metrics"
