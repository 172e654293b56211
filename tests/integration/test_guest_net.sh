#!/usr/bin/env bash
# timeout: 150
# virtio-net end to end (DESIGN.md §5, issue 4) with the net test guest, a
# driver written from virtio 1.2 §5.1 (receive queue kept full, transmit
# queue, interrupts through the IOAPIC). Everything happens in a network
# namespace this test creates (fvmnet<pid>, with its own tap0 at
# 172.16.0.1/24) and deletes on exit; femtovm runs inside it. The host side
# uses the real tools: ping, arping, socat for UDP both ways.
#   1. ELF guest, EVENT_IDX, one 2 KiB buffer per frame: ping, arping, UDP
#      echo (small and 1000-byte payloads), 20 datagrams guest -> host,
#      "quit" ends the guest; its counters match what the host sent.
#   2. PVH guest, MRG_RXBUF with 256-byte buffers (a frame spans several),
#      no EVENT_IDX (flags-based suppression), queue size 64: large pings and
#      UDP echo through merged buffers.
#   3. A tap name that does not exist: exit 1 and a clear message.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm
require_cmd ip
require_cmd ping
require_cmd arping
require_cmd socat
ELF=$(require_guest net.elf)
PVH=$(require_guest net-pvh.elf)

NS=fvmnet$$
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
GUEST_MAC=06:00:ac:10:00:02
# shellcheck source=tests/integration/net_lib.sh
. "$(dirname "$0")/net_lib.sh"
net_setup

# net_config OUT KERNEL ARGS [TAP]
net_config() {
    printf '{"boot-source":{"kernel_image_path":%s,"boot_args":%s},
 "machine-config":{"vcpu_count":1,"mem_size_mib":128},
 "network-interfaces":[{"iface_id":"eth0","host_dev_name":"%s","guest_mac":"%s"}]}\n' \
        "$(json_str "$2")" "$(json_str "$3")" "${4:-tap0}" "$GUEST_MAC" >"$1"
}
# expect_lines OUT LINE...: every LINE is a whole line of OUT.
expect_lines() {
    local out=$1 l
    shift
    for l in "$@"; do
        grep -qxF -- "$l" "$out" || { show_outputs "$out"; fail "no line '$l'"; }
    done
}
# counter OUT NAME: last value of NAME=<n> on the guest's last counters line.
counter() {
    grep -E '^net: rx=' "$1" | tail -n 1 | grep -oE " $2=[0-9]+" | cut -d= -f2
}
# errcount OUT NAME: NAME=<n> of the guest's final "net: errors" line.
errcount() {
    grep -E '^net: errors ' "$1" | tail -n 1 | grep -oE " $2=[0-9]+" | cut -d= -f2
}
# udp_echo PAYLOAD-FILE: send it to the guest's echo port, print the reply.
udp_echo() {
    nsx socat -t 1 - "UDP4:$GUEST_IP:7,sourceport=$((40000 + RANDOM % 20000))" <"$1"
}
# wait_exit SECONDS: wait for the background monitor to end; $FVM_RC.
wait_exit() {
    local deadline=$((SECONDS + $1))
    while femtovm_alive && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    femtovm_alive && { show_outputs "$OUT"; fail "guest did not stop after quit"; }
    FVM_RC=0
    wait "$FVM_PID" 2>/dev/null || FVM_RC=$?
}
# check_end OUT: exit 0, "net: done" last, no errors the driver counts.
check_end() {
    local out=$1 e
    if [ "$FVM_RC" -ne 0 ] || [ "$(tail -n 1 "$out")" != "net: done" ]; then
        show_outputs "$out"
        fail "$out: exit $FVM_RC, expected 0 after 'net: done'"
    fi
    assert_not_grep "$out" 'FAIL|needs reset|exception' "$out: guest reported a failure"
    for e in badlen badsum partial; do
        [ "$(errcount "$out" $e)" = 0 ] || { show_outputs "$out"; fail "guest counted $e=$(errcount "$out" $e)"; }
    done
    # virtio 1.2 §5.1.6.4.2: without MRG_RXBUF the device sets num_buffers
    # to 1. Reported at the end, so the other checks still run.
    [ "$(errcount "$out" badnbuf)" = 0 ] ||
        LATE_FAIL+=("$(basename "$out"): guest saw a bad num_buffers in $(errcount "$out" badnbuf) receive headers (without MRG_RXBUF the device must set it to 1)")
}
LATE_FAIL=()

# --- 1. ELF guest: ping, arping, UDP both ways ---------------------------
OUT=$TEST_TMP/one.out
cfg=$TEST_TMP/one.json
net_config "$cfg" "$ELF" \
    "console=ttyS0 net.ip=$GUEST_IP net.peer=$HOST_IP net.send=9000:20 net.run_ms=60000"
# Listener for the guest's datagrams (one line each).
ip netns exec "$NS" socat -u "UDP4-RECV:9000,bind=$HOST_IP" "OPEN:$TEST_TMP/recv9000,creat,append" &
FVM_PIDS+=("$!")
sleep 0.3
femtovm_start "$cfg" "$OUT"
wait_for_patterns "$OUT" 20 '^net: ready$' || { show_outputs "$OUT"; fail "guest not ready"; }
expect_lines "$OUT" "net: mac=$GUEST_MAC" 'net: link up' "net: ip=$GUEST_IP peer=$HOST_IP echo=7"
# VERSION_1, MAC, STATUS, EVENT_IDX: nothing else (no CSUM, no GUEST_CSUM).
expect_lines "$OUT" 'net: features=0x120010020 qsize=128 rxbuf=2048 mrg=0 event_idx=1'
assert_grep "$OUT" '^net: cmdline=.* virtio_mmio\.device=4K@0xd0000000:5$' "no virtio_mmio.device on the command line"

# The guest ARPs for us and sends its 20 datagrams.
wait_for_patterns "$OUT" 20 '^net: peer mac=' '^net: sent 20 datagrams to 172\.16\.0\.1:9000$' ||
    { show_outputs "$OUT"; fail "guest did not reach the host"; }
host_mac=$(nsx cat /sys/class/net/tap0/address)
expect_lines "$OUT" "net: peer mac=$host_mac"
for _ in $(seq 1 25); do
    [ "$(wc -l <"$TEST_TMP/recv9000" 2>/dev/null || echo 0)" -ge 20 ] && break
    sleep 0.2
done
got=$(wc -l <"$TEST_TMP/recv9000")
[ "$got" -eq 20 ] || fail "host received $got of the guest's 20 datagrams"
for i in 0 7 19; do
    grep -qxF "femtovm $i" "$TEST_TMP/recv9000" || fail "datagram 'femtovm $i' missing"
done
info "ok guest -> host: 20 datagrams"

# Real ping: 5 of 5.
nsx ping -c 5 -i 0.2 -W 2 "$GUEST_IP" >"$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; show_outputs "$OUT"; fail "ping failed"; }
grep -q ' 5 received, 0% packet loss' "$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; fail "ping lost packets"; }
info "ok ping: $(grep rtt "$TEST_TMP/ping")"
# arping: replies carry the guest's MAC.
nsx arping -c 3 -w 6 -I tap0 "$GUEST_IP" >"$TEST_TMP/arping" || { cat "$TEST_TMP/arping"; fail "arping failed"; }
grep -q 'Received 3 response' "$TEST_TMP/arping" || { cat "$TEST_TMP/arping"; fail "arping: not 3 replies"; }
[ "$(grep -ci "reply from $GUEST_IP \[${GUEST_MAC}\]" "$TEST_TMP/arping")" -eq 3 ] ||
    { cat "$TEST_TMP/arping"; fail "arping replies do not carry $GUEST_MAC"; }
info "ok arping: 3 replies from $GUEST_MAC"
# UDP echo: a short line and 1000 bytes of binary.
printf 'hello femtovm\n' >"$TEST_TMP/p1"
head -c 1000 /dev/urandom >"$TEST_TMP/p2"
udp_echo "$TEST_TMP/p1" >"$TEST_TMP/r1"
cmp -s "$TEST_TMP/p1" "$TEST_TMP/r1" || fail "UDP echo of a short line: got '$(cat "$TEST_TMP/r1")'"
udp_echo "$TEST_TMP/p2" >"$TEST_TMP/r2"
cmp -s "$TEST_TMP/p2" "$TEST_TMP/r2" || fail "UDP echo of 1000 bytes differs ($(wc -c <"$TEST_TMP/r2") bytes back)"
info "ok UDP echo host -> guest -> host"

# quit ends the guest; its counters add up.
printf 'quit' | nsx socat -u - "UDP4:$GUEST_IP:7"
wait_exit 15
check_end "$OUT"
expect_lines "$OUT" 'net: quit'
[ "$(counter "$OUT" icmp)" -eq 5 ] || fail "guest answered $(counter "$OUT" icmp) echo requests, expected 5"
[ "$(counter "$OUT" udp)" -eq 2 ] || fail "guest echoed $(counter "$OUT" udp) datagrams, expected 2"
[ "$(counter "$OUT" arp)" -ge 3 ] || fail "guest answered $(counter "$OUT" arp) ARP requests, expected >= 3"
tx=$(counter "$OUT" tx)
rx=$(counter "$OUT" rx)
# tx: 1 ARP request + 20 datagrams + 5 echo replies + 2 UDP echoes + ARP replies.
[ "$tx" -eq $((28 + $(counter "$OUT" arp))) ] || fail "guest tx=$tx, expected $((28 + $(counter "$OUT" arp)))"
[ "$rx" -ge $((5 + 3 + 2 + 1 + 1)) ] || fail "guest rx=$rx is too small"
info "ok ELF guest: $(grep '^net: rx=' "$OUT" | tail -n 1 | cut -d' ' -f2-)"

# --- 2. PVH guest, mergeable 256-byte receive buffers, no EVENT_IDX --------
OUT=$TEST_TMP/mrg.out
cfg=$TEST_TMP/mrg.json
net_config "$cfg" "$PVH" \
    "console=ttyS0 net.ip=$GUEST_IP net.mrg net.rxbuf=256 net.noevent net.qsize=64 net.run_ms=60000"
femtovm_start "$cfg" "$OUT"
wait_for_patterns "$OUT" 20 '^net: ready$' || { show_outputs "$OUT"; fail "mrg guest not ready"; }
# VERSION_1, MAC, STATUS, MRG_RXBUF.
expect_lines "$OUT" 'net: features=0x100018020 qsize=64 rxbuf=256 mrg=1 event_idx=0' 'net: link up'
# 1400-byte pings: 1454 bytes with the header, 6 buffers each way in.
nsx ping -c 4 -i 0.2 -s 1400 -W 2 "$GUEST_IP" >"$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; show_outputs "$OUT"; fail "large ping failed"; }
grep -q ' 4 received, 0% packet loss' "$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; fail "large ping lost packets"; }
nsx ping -c 3 -i 0.2 -W 2 "$GUEST_IP" >"$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; fail "small ping failed (mrg)"; }
head -c 1400 /dev/urandom >"$TEST_TMP/p3"
udp_echo "$TEST_TMP/p3" >"$TEST_TMP/r3"
cmp -s "$TEST_TMP/p3" "$TEST_TMP/r3" || fail "UDP echo of 1400 bytes through merged buffers differs"
udp_echo "$TEST_TMP/p1" >"$TEST_TMP/r1"
cmp -s "$TEST_TMP/p1" "$TEST_TMP/r1" || fail "UDP echo (mrg) of a short line differs"
printf 'quit\n' | nsx socat -u - "UDP4:$GUEST_IP:7"
wait_exit 15
check_end "$OUT"
[ "$(counter "$OUT" icmp)" -eq 7 ] || fail "mrg guest answered $(counter "$OUT" icmp) pings, expected 7"
[ "$(errcount "$OUT" merged)" -ge 5 ] || fail "only $(errcount "$OUT" merged) frames came in several buffers, expected >= 5"
[ "$(counter "$OUT" udp)" -eq 2 ] || fail "mrg guest echoed $(counter "$OUT" udp) datagrams, expected 2"
info "ok PVH guest, MRG_RXBUF with 256-byte buffers: $(grep '^net: rx=' "$OUT" | tail -n 1 | cut -d' ' -f2-)"

# --- 3. Missing tap ------------------------------------------------------
OUT=$TEST_TMP/notap.out
net_config "$TEST_TMP/notap.json" "$ELF" "console=ttyS0" nosuchtap0
femtovm_run_config "$TEST_TMP/notap.json" 15 "$OUT"
assert_exit 1 "$FVM_RC" "femtovm with a missing tap"
assert_grep "$OUT.err" 'tap nosuchtap0: cannot attach: no such interface' "no clear message for a missing tap: $(cat "$OUT.err")"
assert_not_grep "$OUT" '^net: start' "guest ran without its tap"
nsx ip link show nosuchtap0 >/dev/null 2>&1 && fail "femtovm created the missing tap"
info "ok missing tap: exit 1, '$(head -n 1 "$OUT.err")'"

[ ${#LATE_FAIL[@]} -eq 0 ] || fail "$(printf '%s; ' "${LATE_FAIL[@]}")"
