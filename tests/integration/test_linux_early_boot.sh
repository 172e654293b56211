#!/usr/bin/env bash
# timeout: 150
# Linux boot-protocol check by Linux itself: boot Debian's cloud kernel
# (uncompressed vmlinux from scripts/fetch-debian-kernel.sh) with 2 vCPUs and
# 256 MiB and assert what its early boot prints on COM1 (DESIGN.md §10):
# our command line, an e820 map matching the configuration, KVM detected,
# 2 CPUs. Under this workplace's emulating KVM Linux never reaches
# userspace, so the monitor is killed once the lines have appeared.
#
# The Debian vmlinux carries XEN_ELFNOTE_PHYS32_ENTRY, so femtovm boots it
# via PVH (hvm_start_info). Debian's cloud config has CONFIG_X86_MPPARSE
# off: Linux ignores the MP table and counts CPUs from the ACPI MADT only.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

VCPUS=2
MEM_MIB=256
MARKER=abc123
WAIT=${LINUX_EARLY_BOOT_WAIT:-40}

vmlinux=$("$REPO_ROOT/scripts/fetch-debian-kernel.sh" | tail -n 1) ||
    fail "scripts/fetch-debian-kernel.sh failed"
[ -f "$vmlinux" ] || fail "fetch script printed no kernel path"
info "kernel: $vmlinux"

args="earlyprintk=serial,ttyS0,115200 console=ttyS0 keep_bootcon femtovm.marker=$MARKER"
cfg=$TEST_TMP/vm.json
out=$TEST_TMP/serial.out
make_config "$cfg" "$vmlinux" "$args" "$VCPUS" "$MEM_MIB"

# e820 lines Linux prints (arch/x86/kernel/e820.c: "BIOS-e820: [mem
# %#018Lx-%#018Lx] type") for the layout in DESIGN.md §3: RAM below the
# EBDA, EBDA reserved from 0x9fc00 (Linux's PVH entry adds 0xa0000-0xfffff
# as reserved, so the entry may end anywhere below 1 MiB), RAM from 1 MiB to
# the top of memory (no high RAM: 256 MiB < 3 GiB).
hex18() { printf '0x%016x' "$1"; }
top=$(( MEM_MIB * 1024 * 1024 - 1 ))
e820_low="BIOS-e820: \[mem $(hex18 0)-$(hex18 $((0x9fbff)))\] usable"
e820_ebda="BIOS-e820: \[mem $(hex18 $((0x9fc00)))-0x00000000000[0-9a-f]{5}\] reserved"
e820_high="BIOS-e820: \[mem $(hex18 $((0x100000)))-$(hex18 "$top")\] usable"
cmdline="Command line: .*femtovm\.marker=$MARKER"
kvm="Hypervisor detected: KVM"
cpus="smpboot: Allowing $VCPUS CPUs, 0 hotplug CPUs"

start=$SECONDS
femtovm_start "$cfg" "$out"
rc=0
why=$(wait_for_patterns "$out" "$WAIT" "$cmdline" "$e820_low" "$e820_ebda" \
    "$e820_high" "$kvm" "$cpus") || rc=$?
elapsed=$((SECONDS - start))
femtovm_stop

info "early-boot lines Linux printed (${elapsed}s):"
grep -E 'Command line:|BIOS-e820|Hypervisor detected|smpboot|ACPI: (RSDP|XSDT|RSDT|APIC|Using)|MADT|MP tables' \
    "$out" | sed 's/^/#   /' || true

if [ "$rc" -ne 0 ]; then
    echo "$why"
    if grep -q "smpboot: Allowing 1 CPUs" "$out"; then
        echo "hint: Linux counted 1 CPU. This kernel is built without"
        echo "      CONFIG_X86_MPPARSE and ignores the MP table; the monitor must"
        echo "      give an ACPI MADT (RSDP via hvm_start_info.rsdp_paddr for PVH,"
        echo "      boot_params.acpi_rsdp_addr, or in 0xe0000-0xfffff)."
    fi
    show_outputs "$out"
    fail "Linux early boot check"
fi

# Exactly one usable range starts at 1 MiB, and none lies above the top of
# RAM (no high RAM segment for a 256 MiB guest).
n=$(grep -cE 'BIOS-e820: \[mem 0x0000000000100000-' "$out" || true)
assert_eq 1 "$n" "number of e820 entries starting at 1 MiB"
assert_not_grep "$out" 'BIOS-e820: \[mem 0x0000000(1|[2-9a-f])[0-9a-f]{8}-[0-9a-fx]+\] usable' \
    "e820 has usable RAM above 4 GiB for a ${MEM_MIB} MiB guest"
info "PASS: command line, e820 (${MEM_MIB} MiB), KVM, ${VCPUS} CPUs"
