#!/usr/bin/env bash
# timeout: 90
# The HTTP API over a Unix socket with curl, as in Firecracker's
# getting-started guide: pre-boot configuration, InstanceStart, pause and
# resume, phase rules, bad requests that leave the VM untouched, metrics.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_root
require_kvm
require_cmd curl
hello=$(require_guest hello.elf)
head -c 1048576 /dev/zero >"$TEST_TMP/rootfs.img"

# A network namespace of our own with a tap for the network interface.
NS=fvmapi$$
ip netns add "$NS" || skip "cannot create a network namespace"
trap '_lib_cleanup; ip netns del "$NS" 2>/dev/null || true' EXIT
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" link set tap0 up
API_NETNS=$NS

api_start --id test-vm-1 --boot-timer
expect_api 200 GET / '' '"id":"test-vm-1".*"state":"Not started"'
expect_api 200 GET /version '' '"firecracker_version":"[0-9]'
expect_api 200 GET /machine-config '' '"vcpu_count":1,"mem_size_mib":128'

# Phase rules before boot.
expect_api 400 PATCH /vm '{"state":"Paused"}' 'not supported before starting'
expect_api 400 PUT /actions '{"action_type":"SendCtrlAltDel"}' 'not supported before starting'
expect_api 400 PATCH /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/x"}' 'before starting'
expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' 'without kernel configuration'
expect_api 400 PUT /actions '{"action_type":"FlushMetrics"}' 'metrics are not configured'

# Bad requests: each names the problem and changes nothing.
expect_api 400 PUT /boot-source '{"kernel_image_path": 42}' 'kernel_image_path: must be a string'
expect_api 400 PUT /boot-source '{"kernel_image_path": "x", "bogus": 1}' 'unknown field \\"bogus\\"'
expect_api 400 PUT /boot-source 'not json' 'not a JSON object'
expect_api 400 PUT /machine-config '{"vcpu_count": 2}' 'mem_size_mib: missing required field'
expect_api 400 PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 64}' 'vcpu_count: must be an integer from 1 to 32'
expect_api 400 PATCH /machine-config '{"mem_size_mib": "lots"}' 'mem_size_mib: must be an integer'
expect_api 400 PUT /drives/other '{"drive_id":"rootfs","path_on_host":"x","is_root_device":true}' 'does not match'
expect_api 400 PUT /actions '{"action_type":"Reboot"}' 'action_type: must be one of'
expect_api 400 PUT /nonexistent '{"a":1}' 'Invalid request method and/or path'
expect_api 400 GET /drives/rootfs '' 'Invalid request method and/or path'
expect_api 200 GET /machine-config '' '"vcpu_count":1,"mem_size_mib":128'

# The getting-started sequence.
expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$hello\",\"boot_args\":\"console=ttyS0 idle\"}"
expect_api 204 PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
expect_api 204 PATCH /machine-config '{"mem_size_mib": 192}'
expect_api 200 GET /machine-config '' '"vcpu_count":2,"mem_size_mib":192'
expect_api 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TEST_TMP/rootfs.img\",\"is_root_device\":true,\"is_read_only\":false}"
expect_api 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:ac:10:00:02"}'
expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$TEST_TMP/v.sock\"}"
expect_api 400 PUT /network-interfaces/eth1 '{"iface_id":"eth1","host_dev_name":"tap0"}' 'share an id, a host device'
expect_api 204 PUT /metrics "{\"metrics_path\":\"$TEST_TMP/metrics.json\"}"
expect_api 200 GET /vm/config '' '"drives":\[\{"drive_id":"rootfs"'
grep -q '"network-interfaces":\[{"iface_id":"eth0","host_dev_name":"tap0"' <<<"$API_BODY" || fail "vm/config lacks the interface: $API_BODY"
grep -q '"vsock":{"guest_cid":3' <<<"$API_BODY" || fail "vm/config lacks vsock: $API_BODY"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$TEST_TMP/serial" 20 '^hello: idle$' || { show_outputs "$TEST_TMP/serial"; fail "guest did not boot"; }
assert_grep "$TEST_TMP/serial" '^hello: cmdline=console=ttyS0 idle virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7 root=/dev/vda rw$'
expect_api 200 GET / '' '"state":"Running"'

# Phase rules after boot.
expect_api 400 PUT /actions '{"action_type":"InstanceStart"}' 'not supported after starting'
expect_api 400 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 'not supported after starting'
expect_api 400 PUT /boot-source "{\"kernel_image_path\":\"$hello\"}" 'not supported after starting'

expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 200 GET / '' '"state":"Paused"'
expect_api 204 PATCH /vm '{"state":"Resumed"}'
expect_api 200 GET / '' '"state":"Running"'
expect_api 400 PATCH /vm '{"state":"Sleeping"}' 'must be one of'

# PATCH a drive: new backing file of a different size.
head -c 2097152 /dev/zero >"$TEST_TMP/rootfs2.img"
expect_api 204 PATCH /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$TEST_TMP/rootfs2.img\"}"
expect_api 400 PATCH /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/nonexistent"}' 'No such file'
expect_api 400 PATCH /drives/nope '{"drive_id":"nope","path_on_host":"/x"}' 'does not exist'
expect_api 200 GET /vm/config '' "rootfs2.img"

expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'
grep -q '"api_server":{"requests":[1-9]' "$TEST_TMP/metrics.json" || fail "metrics line: $(cat "$TEST_TMP/metrics.json")"
grep -q '"guest_boot_time_us":[1-9]' "$TEST_TMP/metrics.json" || fail "boot time missing in metrics"

# A hostile client cannot take the server down: garbage, then a valid request.
printf 'GARBAGE\r\n\r\n' | timeout 5 socat - "UNIX-CONNECT:$API_SOCK" >"$TEST_TMP/garbage" || true
grep -q '^HTTP/1.1 4' "$TEST_TMP/garbage" || fail "garbage request got: $(cat "$TEST_TMP/garbage")"
expect_api 200 GET / '' '"state":"Running"'

# Ctrl+Alt+Del reaches the guest's keyboard controller (the kbd test guest
# checks the scancodes); this guest may react by resetting, which is fine.
expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
femtovm_stop
assert_exit 0 "$FVM_RC" "femtovm exit after SIGTERM"
[ ! -e "$API_SOCK" ] || fail "API socket not removed on exit"

# A second instance on a live socket refuses to start; a stale one is replaced.
API_NETNS=
api_start
rc=0; timeout 5 "$FEMTOVM" --api-sock "$API_SOCK" >/dev/null 2>"$TEST_TMP/second.err" </dev/null || rc=$?
assert_exit 1 "$rc" "second femtovm on a live socket"
assert_grep "$TEST_TMP/second.err" 'in use'
kill -KILL "$FVM_PID"; wait "$FVM_PID" 2>/dev/null || true
[ -S "$API_SOCK" ] || fail "expected a stale socket after SIGKILL"
api_start
expect_api 200 GET / '' '"state":"Not started"'

# Booting a guest that resets ends the process with exit code 0.
expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$hello\"}"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
for _ in $(seq 1 100); do femtovm_alive || break; sleep 0.05; done
femtovm_alive && fail "femtovm still running after the guest reset"
wait "$FVM_PID" || fail "femtovm exit code $? after guest reset"
assert_grep "$TEST_TMP/serial" '^hello: bye$'
echo "API checks passed"
