#!/usr/bin/env bash
# `make demo`: boot the bundled test guests under femtovm and show what each
# device does: serial console, command line and e820 map, boot timer, SMP
# bring-up, interrupts through the IOAPIC, i8042 reset, guest-fault report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fvm=build/femtovm
tmp=$(mktemp -d)

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "demo: /dev/kvm is missing or not accessible (run as root on a KVM host)" >&2
    exit 1
fi

# config NAME KERNEL VCPUS MEM ARGS
config() {
    cat >"$tmp/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$2", "boot_args": "$5" },
  "machine-config": { "vcpu_count": $3, "mem_size_mib": $4 }
}
JSON
}

# Device demos below need socat/ping (scripts/deps.sh test installs them).
netns=fvmdemo$$
cleanup() {
    [ -n "${bg:-}" ] && kill "$bg" 2>/dev/null && wait "$bg" 2>/dev/null
    ip netns del "$netns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# show TITLE NAME [femtovm args...]
show() {
    local title=$1 name=$2 rc=0
    shift 2
    printf '\n\033[1m== %s\033[0m\n$ femtovm --no-api --config-file %s.json %s\n' "$title" "$name" "$*"
    "$fvm" --no-api --config-file "$tmp/$name.json" "$@" </dev/null || rc=$?
    echo "(femtovm exited with code $rc)"
}

config hello build/guest/hello.elf 1 256 "console=ttyS0 greeting=hi"
config hello-pvh build/guest/hello-pvh.elf 1 5120 "console=ttyS0"
config hello-bz build/guest/hello.bzImage 1 128 "console=ttyS0"
config smp build/guest/smp.elf 4 128 "console=ttyS0"
config irq build/guest/irq.elf 1 64 "console=ttyS0"
config fault build/guest/fault.elf 1 64 "console=ttyS0"

show "Linux 64-bit boot protocol (ELF), 256 MiB, boot timer on" hello --boot-timer
show "PVH entry, 5 GiB: RAM continues above the 3-4 GiB MMIO hole" hello-pvh
show "bzImage (setup header + 64-bit entry at +0x200)" hello-bz
show "SMP: 4 vCPUs found through the MP table, started with INIT-SIPI-SIPI" smp
show "Serial interrupt delivered through the IOAPIC" irq
show "A guest that triple-faults: reported with its registers, exit code 3" fault
# virtio-blk: the guest writes sector 7, the host reads it back from the file.
head -c 4194304 /dev/zero >"$tmp/disk.img"
cat >"$tmp/blk.json" <<JSON
{ "boot-source": { "kernel_image_path": "build/guest/blk.elf", "boot_args": "console=ttyS0 blk.write=7:0x5c" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "$tmp/disk.img", "is_root_device": true, "is_read_only": false } ] }
JSON
show "virtio-blk: a driver in the guest writes sector 7 of a raw file" blk
printf 'host reads sector 7 of the file: %s\n' "$(od -An -tx1 -j 3584 -N 8 "$tmp/disk.img")"

# virtio-vsock: the host talks to a guest service through the Unix socket.
cat >"$tmp/vsock.json" <<JSON
{ "boot-source": { "kernel_image_path": "build/guest/vsock/vsock.elf", "boot_args": "console=ttyS0 vsock.listen=5000" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "vsock": { "guest_cid": 3, "uds_path": "$tmp/v.sock" } }
JSON
printf '\n\033[1m== virtio-vsock: host connects with CONNECT 5000, the guest echoes\033[0m\n'
"$fvm" --no-api --config-file "$tmp/vsock.json" >"$tmp/vsock.out" 2>&1 </dev/null &
bg=$!
for _ in $(seq 1 100); do grep -q 'vsock: ready' "$tmp/vsock.out" && break; sleep 0.1; done
printf '$ printf "CONNECT 5000\\nhello from the host\\n" | socat - UNIX-CONNECT:v.sock\n'
(printf 'CONNECT 5000\nhello from the host\n'; sleep 1) | timeout 5 socat - "UNIX-CONNECT:$tmp/v.sock" || true
kill "$bg"; wait "$bg" 2>/dev/null || true; bg=

# virtio-net: a tap in a private network namespace; the host pings the guest.
if ip netns add "$netns" 2>/dev/null; then
    ip -n "$netns" link set lo up
    ip -n "$netns" tuntap add dev tap0 mode tap
    ip -n "$netns" addr add 172.16.0.1/24 dev tap0
    ip -n "$netns" link set tap0 up
    cat >"$tmp/net.json" <<JSON
{ "boot-source": { "kernel_image_path": "build/guest/net.elf", "boot_args": "console=ttyS0 net.ip=172.16.0.2 net.run_ms=20000" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02" } ] }
JSON
    printf '\n\033[1m== virtio-net: tap0 in a private netns, the host pings the guest\033[0m\n'
    ip netns exec "$netns" "$fvm" --no-api --config-file "$tmp/net.json" >"$tmp/net.out" 2>&1 </dev/null &
    bg=$!
    for _ in $(seq 1 100); do grep -q 'net: ready' "$tmp/net.out" && break; sleep 0.1; done
    ip netns exec "$netns" ping -c 3 -W 2 172.16.0.2 || true
    kill "$bg"; wait "$bg" 2>/dev/null || true; bg=
fi

echo
echo "Every guest above ended by resetting through the i8042 (exit code 0),"
echo "except the faulting one (exit code 3) and the device services, which"
echo "were stopped with SIGTERM. See README.md for more."
