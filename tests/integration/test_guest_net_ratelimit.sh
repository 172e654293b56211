#!/usr/bin/env bash
# timeout: 120
# virtio-net rate limiters (issue 4: tx_rate_limiter / rx_rate_limiter,
# token buckets as for block): the net test guest behind a limited
# interface in a network namespace this test creates (fvmnetr<pid>, tap0 at
# 172.16.0.1/24) and deletes. Both directions get an ops bucket of 10
# refilled every 100 ms (100 frames/s): 60 datagrams each way must take
# measurably long (loose bounds), arrive complete (throttled, not dropped),
# and show up in the throttled counters; PATCH /network-interfaces lifts the
# receive limit on the running VM.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_root
require_kvm
require_femtovm
require_cmd ip
require_cmd ping
require_cmd socat
require_cmd curl
PVH=$(require_guest net-pvh.elf)

NS=fvmnetr$$
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
# shellcheck source=tests/integration/net_lib.sh
. "$(dirname "$0")/net_lib.sh"
net_setup

OUT=$TEST_TMP/serial
METRICS=$TEST_TMP/metrics.json
metric() {
    tail -n 1 "$METRICS" | grep -oE "\"net\":\[\{[^]]*\}\]" | grep -oE "\"$1\":[0-9]+" | cut -d: -f2
}
flush() { expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
lines() { wc -l <"$1" 2>/dev/null || echo 0; }
# burst N: N datagrams to the guest's discard port, back to back.
burst() {
    nsx bash -c "exec 3>/dev/udp/$GUEST_IP/9; for i in \$(seq 1 $1); do printf 'b %d' \$i >&3; done"
}
# wait_rx N SECONDS: until femtovm has delivered N frames; prints the ms taken.
wait_rx() {
    local want=$1 deadline=$(($(now_ms) + $2 * 1000)) t0
    t0=$(now_ms)
    while :; do
        flush
        [ "$(metric rx_packets_count)" -ge "$want" ] && break
        [ "$(now_ms)" -lt "$deadline" ] || fail "rx_packets_count $(metric rx_packets_count) < $want after $2 s"
        sleep 0.05
    done
    echo $(($(now_ms) - t0))
}

LIMIT='{"ops":{"size":10,"refill_time":100}}'
ip netns exec "$NS" socat -u "UDP4-RECV:9000,bind=$HOST_IP" "OPEN:$TEST_TMP/recv,creat,append" &
FVM_PIDS+=("$!")
sleep 0.3
api_start
expect_api 204 PUT /boot-source "{\"kernel_image_path\":$(json_str "$PVH"),\"boot_args\":\"console=ttyS0 net.ip=$GUEST_IP net.peer=$HOST_IP net.send=9000:60 net.run_ms=100000 net.stats_ms=0\"}"
expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
expect_api 204 PUT /network-interfaces/eth0 "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"06:00:ac:10:00:02\",\"rx_rate_limiter\":$LIMIT,\"tx_rate_limiter\":$LIMIT}"
expect_api 204 PUT /metrics "{\"metrics_path\":$(json_str "$METRICS")}"
expect_api 200 GET /vm/config '' '"network-interfaces":\[\{"iface_id":"eth0".*"rx_rate_limiter"'
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'

# 1. Transmit: ARP + 60 datagrams through a 100 frames/s bucket of 10, timed
#    on the host from the first datagram's arrival to the last's.
deadline=$(($(now_ms) + 30000))
while [ "$(lines "$TEST_TMP/recv")" -lt 1 ] && [ "$(now_ms)" -lt $deadline ]; do sleep 0.01; done
t0=$(now_ms)
while [ "$(lines "$TEST_TMP/recv")" -lt 60 ] && [ "$(now_ms)" -lt $deadline ]; do sleep 0.01; done
tx_ms=$(($(now_ms) - t0))
wait_for_patterns "$OUT" 5 '^net: ready$' '^net: sent 60 datagrams' || { show_outputs "$OUT"; fail "guest did not send"; }
[ "$(lines "$TEST_TMP/recv")" -eq 60 ] || fail "host got $(lines "$TEST_TMP/recv") of 60 datagrams (throttled frames must not be lost)"
info "transmit: 60 datagrams in ${tx_ms} ms through a 100/s limiter"
# 10 frames (ARP + 9 datagrams) pass at once, the other 51 at 100/s.
[ "$tx_ms" -ge 350 ] || fail "limited transmit of 61 frames took only ${tx_ms} ms (expected >= ~500)"
[ "$tx_ms" -le 15000 ] || fail "limited transmit took ${tx_ms} ms (limiter stalls?)"
flush
[ "$(metric tx_rate_limiter_throttled)" -gt 0 ] || fail "tx_rate_limiter_throttled is 0"
assert_eq 0 "$(metric tx_dropped)" "tx_dropped"

# 2. Receive: 60 datagrams queued on the tap at once (10 pass at once,
#    the other 50 at 100/s).
sleep 1.5   # bucket full again
base=$(metric rx_packets_count)
burst 60
rx_ms=$(wait_rx $((base + 60)) 20)
info "receive: 60 datagrams delivered in ${rx_ms} ms through a 100/s limiter"
[ "$rx_ms" -ge 350 ] || fail "limited receive of 60 frames took only ${rx_ms} ms (expected >= ~500)"
[ "$(metric rx_rate_limiter_throttled)" -gt 0 ] || fail "rx_rate_limiter_throttled is 0"
assert_eq 0 "$(metric rx_dropped)" "rx_dropped"

# 3. PATCH lifts the receive limit on the running VM.
expect_api 400 PATCH /network-interfaces/nope '{"iface_id":"nope","rx_rate_limiter":{"ops":{"size":0,"refill_time":0}}}'
expect_api 204 PATCH /network-interfaces/eth0 '{"iface_id":"eth0","rx_rate_limiter":{"ops":{"size":0,"refill_time":0}}}'
base=$(metric rx_packets_count)
thr=$(metric rx_rate_limiter_throttled)
burst 300
fast_ms=$(wait_rx $((base + 300)) 20)
info "receive after PATCH: 300 datagrams in ${fast_ms} ms"
flush
assert_eq "$thr" "$(metric rx_rate_limiter_throttled)" "rx_rate_limiter_throttled after the limit was lifted"
[ "$fast_ms" -lt 2500 ] || fail "unlimited receive of 300 frames took ${fast_ms} ms (a 100/s limit would need 3 s)"
nsx ping -c 2 -i 0.2 -W 2 "$GUEST_IP" >/dev/null || fail "ping after the bursts"

printf 'quit' | nsx socat -u - "UDP4:$GUEST_IP:7"
wait_for_patterns "$OUT" 15 '^net: done$' || { show_outputs "$OUT"; fail "guest did not stop"; }
assert_not_grep "$OUT" 'FAIL|needs reset|exception' "guest reported a failure"
assert_grep "$OUT" '^net: errors badlen=0 badsum=0 ' "guest counted errors"
info "ok rate limiters"
