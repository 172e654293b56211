#!/usr/bin/env bash
# `make demo`: boot the bundled test guests under femtovm and show what each
# device does: serial console, command line and e820 map, boot timer, SMP
# bring-up, interrupts through the IOAPIC, i8042 reset, guest-fault report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fvm=build/femtovm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
echo
echo "Every guest above ended by resetting through the i8042 (exit code 0),"
echo "except the faulting one (exit code 3). See README.md for more."
