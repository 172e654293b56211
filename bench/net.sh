#!/usr/bin/env bash
# Network benchmark (issue 4): the perf/netbench guest (hot loops in ring 3)
# on femtovm and on QEMU microvm's virtio-net-device (vhost=off; vhost=on
# as well when /dev/vhost-net exists), each attached to tap0 in a network
# namespace this script creates (as tests/integration/test_guest_net.sh)
# and removes on exit. Per VMM, one boot runs three phases:
#   tx   guest -> host UDP flood (1400-byte payloads) for BENCH_NET_MS;
#        counted by the guest (handed to the device) and by `udpbench sink`
#        in the namespace (what arrived);
#   rx   host -> guest: `udpbench flood` for BENCH_NET_MS + 1 s, counted by
#        the guest from its first datagram;
#   echo latency: `udpbench rtt` (BENCH_NET_RTT_N UDP round trips, 64-byte
#        payload, the guest turns each frame around in ring 3) and
#        `ping -c 200 -i 0.01` (median of the per-packet times).
# Writes KEY value=V lines to OUTDIR/net_<vmm>.out.
# Usage: bench/net.sh OUTDIR   (root). Env: BENCH_NET_MS (default 3000),
#        BENCH_NET_RTT_N (default 2000), BENCH_NET_PING_N (default 200), QEMU.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: net.sh OUTDIR}
ms=${BENCH_NET_MS:-3000}
rtt_n=${BENCH_NET_RTT_N:-2000}
ping_n=${BENCH_NET_PING_N:-200}
qemu=${QEMU:-qemu-system-x86_64}
femtovm=$root/build/femtovm
devrun=$root/build/bench/devrun
udpbench=$root/build/bench/udpbench
guest=$root/build/guest/perf/netbench.elf
guest_pvh=$root/build/guest/perf/netbench-pvh.elf
for f in "$femtovm" "$devrun" "$udpbench" "$guest" "$guest_pvh"; do
    [ -e "$f" ] || { echo "net.sh: missing $f (make all bench-tools)" >&2; exit 1; }
done
for c in ip ping; do
    command -v $c >/dev/null || { echo "net.sh: $c not found, net benchmark skipped" >&2; exit 0; }
done

NS=fvmbench$$
GUEST_IP=172.16.0.2
HOST_IP=172.16.0.1
GUEST_MAC=06:00:ac:10:00:02
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }

ip netns add "$NS" || { echo "net.sh: cannot create a network namespace, skipped" >&2; exit 0; }
nsx ip link set lo up
nsx ip tuntap add dev tap0 mode tap
nsx sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1 || true
nsx ip addr add "$HOST_IP/24" dev tap0
nsx ip link set tap0 up
# The guest answers ARP only in its echo phase: a static entry for it.
nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev tap0 nud permanent
host_mac=$(nsx cat /sys/class/net/tap0/address)
args="netbench.ip=$GUEST_IP netbench.peer=$HOST_IP netbench.peer_mac=$host_mac netbench.ms=$ms netbench.echo_ms=120000"

# wait_line LOG REGEX SECONDS
wait_line() {
    local deadline=$((SECONDS + $3))
    until grep -qE "$2" "$1"; do
        [ $SECONDS -lt $deadline ] || { cat "$1" >&2; echo "net.sh: no '$2'" >&2; return 1; }
        sleep 0.05
    done
}

# one VMM-NAME CMD...: run the three phases against one VMM.
one() {
    local name=$1 log=$tmp/$1.log vpid spid
    shift
    echo "bench: net: $name (tx/rx ${ms} ms, $rtt_n UDP round trips, $ping_n pings)" >&2
    nsx "$udpbench" sink -p 9000 -b "$HOST_IP" -t "$ms" -i 1000 >"$tmp/$name.sink" &
    spid=$!
    pids+=("$spid")
    sleep 0.2
    nsx "$devrun" -t 180 -- "$@" >"$log" 2>"$tmp/$name.err" &
    vpid=$!
    pids+=("$vpid")
    wait_line "$log" '^netbench: go rx' 60
    wait "$spid" || true
    nsx "$udpbench" flood -d "$GUEST_IP:9000" -s 1400 -t $((ms + 1000)) >"$tmp/$name.flood"
    wait_line "$log" '^netbench: go echo' 30
    nsx "$udpbench" rtt -d "$GUEST_IP:7" -s 64 -n "$rtt_n" >"$tmp/$name.rtt"
    nsx ping -c "$ping_n" -i 0.01 -W 1 "$GUEST_IP" >"$tmp/$name.ping" || true
    nsx "$udpbench" quit -d "$GUEST_IP:7"
    wait "$vpid" || true
    grep -q '^netbench: done' "$log" && ! grep -q 'FAIL\|exception' "$log" ||
        { cat "$log" "$tmp/$name.err" >&2; echo "net.sh: $name run failed" >&2; return 1; }
    {
        awk -v prefix=net_ -f "$root/bench/devparse.awk" "$log"
        sed -n 's/^udpsink: pkts=\([0-9]*\) bytes=\([0-9]*\) ms=\([0-9]*\) pps=\([0-9]*\) mbps=\([0-9.]*\).*/net_tx_host_pkts value=\1 n=1\nnet_tx_host_pps value=\4 n=1\nnet_tx_host_mbps value=\5 n=1/p' "$tmp/$name.sink"
        sed -n 's/^udpflood: pkts=\([0-9]*\) bytes=[0-9]* ms=[0-9]* pps=\([0-9]*\) mbps=\([0-9.]*\) errors=\([0-9]*\).*/net_rx_host_sent_pkts value=\1 n=1\nnet_rx_host_sent_pps value=\2 n=1\nnet_rx_host_sent_mbps value=\3 n=1\nnet_rx_host_send_errors value=\4 n=1/p' "$tmp/$name.flood"
        sed 's/^udp_rtt_us /net_udp_rtt_us /; s/^udp_rtt_lost /net_udp_rtt_lost /' "$tmp/$name.rtt"
        grep -oE 'time=[0-9.]+' "$tmp/$name.ping" | cut -d= -f2 | sort -n |
            awk -v n="$ping_n" '{ v[NR] = $1 } END {
                if (!NR) { print "net_ping_lost value=" n " n=" n; exit }
                m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                p10 = v[int(NR * 0.1 + 0.5) > 0 ? int(NR * 0.1 + 0.5) : 1]
                p90 = v[int(NR * 0.9 + 0.5)]
                printf "net_ping_ms median=%.3f p10=%.3f p90=%.3f min=%.3f max=%.3f n=%d\n", m, p10, p90, v[1], v[NR], NR
                printf "net_ping_lost value=%d n=%d\n", n - NR, n }'
    } >"$out/net_$name.out"
    grep -E '^netbench: (tx|rx|echo) ' "$log" | sed "s/ |.*//; s/^/  $name /" >&2
    grep -h 'udpsink: pkts\|udpflood\|udp_rtt_us' "$tmp/$name.sink" "$tmp/$name.flood" "$tmp/$name.rtt" | sed "s/^/  $name /" >&2
    grep 'rtt min' "$tmp/$name.ping" | sed "s/^/  $name ping /" >&2 || true
}

printf '{"boot-source":{"kernel_image_path":"%s","boot_args":"console=ttyS0 %s"},"machine-config":{"vcpu_count":1,"mem_size_mib":128},"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"%s"}]}\n' \
    "$guest" "$args" "$GUEST_MAC" >"$tmp/fvm.json"
one femtovm "$femtovm" --no-api --config-file "$tmp/fvm.json"
if command -v "$qemu" >/dev/null; then
    qemu_net() {	# qemu_net NAME VHOST
        one "$1" "$qemu" -M microvm,isa-serial=on,acpi=off -accel kvm -nodefaults -no-user-config \
            -display none -serial stdio -m 128 -no-reboot -global virtio-mmio.force-legacy=false \
            -kernel "$guest_pvh" -append "console=ttyS0 reset=triple $args" \
            -netdev "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=$2" \
            -device "virtio-net-device,netdev=n0,mac=$GUEST_MAC"
    }
    qemu_net qemu off
    if [ -e /dev/vhost-net ]; then
        qemu_net qemu_vhost on
    else
        echo "bench: net: /dev/vhost-net absent, no vhost=on run" >&2
    fi
fi
