#!/usr/bin/env bash
# timeout: 150
# virtio-net under bursts larger than the receive ring (issue 4): the net
# test guest with 32-entry queues behind femtovm in a network namespace this
# test creates (fvmnetf<pid>, tap0 at 172.16.0.1/24) and deletes. Booted
# through the API (PUT /network-interfaces, PUT /metrics, InstanceStart) so
# FlushMetrics can show the device's counters. Bursts: ping -f -c 2000 and
# 5000 UDP datagrams written in a tight loop. femtovm must stay up, not
# spin afterwards (CPU time over an idle period is small), the guest must
# keep answering, and the counters must add up: femtovm never drops a frame
# itself when the guest runs out of buffers (it stops reading the tap, so
# the excess is dropped by the host's tap queue), and every frame femtovm
# delivered was seen by the guest.
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
ELF=$(require_guest net.elf)

NS=fvmnetf$$
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
GUEST_MAC=06:00:ac:10:00:02
# shellcheck source=tests/integration/net_lib.sh
. "$(dirname "$0")/net_lib.sh"
net_setup

OUT=$TEST_TMP/serial
METRICS=$TEST_TMP/metrics.json
# metric NAME: NAME's value in the net entry of the last metrics line.
metric() {
    tail -n 1 "$METRICS" | grep -oE "\"net\":\[\{[^]]*\}\]" | grep -oE "\"$1\":[0-9]+" | cut -d: -f2
}
flush() { expect_api 204 PUT /actions '{"action_type":"FlushMetrics"}'; }
counter() {
    grep -E '^net: rx=' "$OUT" | tail -n 1 | grep -oE " $1=[0-9]+" | cut -d= -f2
}
# cpu_ticks: utime + stime of the monitor, in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$FVM_PID/stat"
}
tap_stat() {  # tap_stat tx_packets|tx_dropped
    nsx cat "/sys/class/net/tap0/statistics/$1"
}
ping_ok() {  # ping_ok WHAT: 3 of 3 answered
    nsx ping -c 3 -i 0.2 -W 2 "$GUEST_IP" >"$TEST_TMP/ping" 2>&1 ||
        { cat "$TEST_TMP/ping"; show_outputs "$OUT"; fail "$1: ping failed"; }
    grep -q ' 3 received, 0% packet loss' "$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; fail "$1: ping lost packets"; }
}

api_start
expect_api 204 PUT /boot-source "{\"kernel_image_path\":$(json_str "$ELF"),\"boot_args\":\"console=ttyS0 net.ip=$GUEST_IP net.qsize=32 net.run_ms=120000 net.stats_ms=0\"}"
expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
expect_api 400 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06-00-ac-10-00-02"}' 'guest_mac'
expect_api 400 PUT /network-interfaces/other '{"iface_id":"eth0","host_dev_name":"tap0"}' 'does not match'
expect_api 204 PUT /network-interfaces/eth0 "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"$GUEST_MAC\"}"
expect_api 204 PUT /metrics "{\"metrics_path\":$(json_str "$METRICS")}"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$OUT" 20 '^net: ready$' || { show_outputs "$OUT"; fail "guest not ready"; }
assert_grep "$OUT" '^net: features=0x120010020 qsize=32 ' "guest did not get 32-entry queues"
ping_ok "before the bursts"
info "guest up with 32-entry queues"

# 1. ping flood: 2000 requests, as fast as the replies come (>= 100/s).
tx0=$(tap_stat tx_packets)
t0=$SECONDS
nsx ping -f -c 2000 -W 1 "$GUEST_IP" >"$TEST_TMP/flood" 2>&1 || true
femtovm_alive || { show_outputs "$OUT"; fail "femtovm died during ping -f"; }
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TEST_TMP/flood")
info "ping -f: ${recv:-?} of 2000 answered in $((SECONDS - t0)) s"
[ "${recv:-0}" -ge 1000 ] || { cat "$TEST_TMP/flood"; fail "ping -f: only ${recv:-0} of 2000 answered"; }

# 2. UDP burst: 5000 datagrams to the discard port as fast as bash writes.
nsx bash -c "exec 3>/dev/udp/$GUEST_IP/9; for i in \$(seq 1 5000); do printf 'burst %d' \$i >&3 2>/dev/null || true; done"
femtovm_alive || { show_outputs "$OUT"; fail "femtovm died during the UDP burst"; }
tx1=$(tap_stat tx_packets)
drop1=$(tap_stat tx_dropped)
info "tap0: $((tx1 - tx0)) frames queued to femtovm, $drop1 dropped by the tap queue"

# Let the guest drain what is queued, then femtovm must be idle.
sleep 3
c0=$(cpu_ticks)
sleep 2
c1=$(cpu_ticks)
info "femtovm CPU over 2 s idle after the bursts: $((c1 - c0)) ticks of $(getconf CLK_TCK)/s"
[ $((c1 - c0)) -le 60 ] || fail "femtovm used $((c1 - c0)) clock ticks in 2 s idle (spinning?)"
ping_ok "after the bursts"

# Counters: femtovm dropped nothing itself, sent everything the guest sent.
flush
[ -s "$METRICS" ] || fail "FlushMetrics wrote nothing"
grep -q '"iface_id":"eth0"' "$METRICS" || fail "no eth0 in metrics: $(tail -n 1 "$METRICS")"
rxp=$(metric rx_packets_count)
txp=$(metric tx_packets_count)
info "metrics: rx_packets=$rxp rx_dropped=$(metric rx_dropped) tx_packets=$txp tx_dropped=$(metric tx_dropped) tx_malformed=$(metric tx_malformed)"
assert_eq 0 "$(metric rx_dropped)" "rx_dropped (femtovm must stop reading the tap, not drop)"
assert_eq 0 "$(metric rx_rate_limiter_throttled)" "rx_rate_limiter_throttled without a limiter"
assert_eq 0 "$(metric tx_dropped)" "tx_dropped"
assert_eq 0 "$(metric tx_malformed)" "tx_malformed"
assert_eq 0 "$(metric tx_rate_limiter_throttled)" "tx_rate_limiter_throttled without a limiter"
tx2=$(tap_stat tx_packets)
[ "$rxp" -le "$tx2" ] || fail "femtovm delivered $rxp frames but the tap only queued $tx2"
[ "$rxp" -ge 2000 ] || fail "femtovm delivered only $rxp frames"
[ "$(metric rx_bytes_count)" -gt 0 ] && [ "$(metric tx_bytes_count)" -gt 0 ] || fail "byte counters are zero"

# quit: the guest's own counters match the device's.
printf 'quit' | nsx socat -u - "UDP4:$GUEST_IP:7"
wait_for_patterns "$OUT" 15 '^net: done$' || { show_outputs "$OUT"; fail "guest did not stop"; }
for _ in $(seq 1 25); do femtovm_alive || break; sleep 0.2; done
femtovm_alive && fail "femtovm still running after the guest reset"
grx=$(counter rx)
gtx=$(counter tx)
info "guest: $(grep '^net: rx=' "$OUT" | tail -n 1 | cut -d' ' -f2-); $(grep '^net: errors' "$OUT" | cut -d' ' -f2-)"
# The guest saw every frame femtovm had delivered, plus "quit" and
# perhaps a few ARP probes from the host since the flush.
[ "$grx" -ge $((rxp + 1)) ] && [ "$grx" -le $((rxp + 6)) ] ||
    fail "guest rx=$grx, femtovm had delivered $rxp (+1 quit)"
[ "$gtx" -ge "$txp" ] && [ "$gtx" -le $((txp + 6)) ] || fail "guest tx=$gtx, femtovm had sent $txp"
assert_grep "$OUT" '^net: errors badlen=0 badsum=0 badnbuf=0 partial=0 ' "guest counted errors: $(grep '^net: errors' "$OUT")"
assert_not_grep "$OUT" 'FAIL|needs reset|exception' "guest reported a failure"
info "ok bursts larger than the ring"
