# shellcheck shell=bash
# Network-namespace setup shared by the virtio-net tests: a namespace of the
# test's own with loopback and tap0 (HOST_IP/24, no IPv6 chatter), removed on
# exit, and FEMTOVM replaced by a wrapper that execs the monitor inside it
# (taps are per namespace), so $FVM_PID is still the monitor itself.
# Usage: NS=<name>; . net_lib.sh; net_setup   (needs HOST_IP)

net_cleanup() {
    _lib_cleanup
    # Anything still running inside our namespace (listeners) goes with it.
    ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}

nsx() { ip netns exec "$NS" "$@"; }

net_setup() {
    trap net_cleanup EXIT
    ip netns add "$NS" || skip "cannot create a network namespace"
    nsx ip link set lo up
    nsx ip tuntap add dev tap0 mode tap || skip "cannot create a tap device"
    nsx sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1 || true
    nsx ip addr add "$HOST_IP/24" dev tap0
    nsx ip link set tap0 up
    REAL_FEMTOVM=$FEMTOVM
    FEMTOVM=$TEST_TMP/femtovm-in-netns
    printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$REAL_FEMTOVM" >"$FEMTOVM"
    chmod +x "$FEMTOVM"
}
