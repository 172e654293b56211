#!/usr/bin/env bash
# timeout: 120
# e820 with RAM across the 32-bit MMIO hole (DESIGN.md §3): a 4 GiB guest
# must get RAM from 1 MiB up to 0xbfffffff and the last 1 GiB at 4 GiB.
# Checked by Debian's own kernel printing its e820 map (1 vCPU).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

MEM_MIB=4096
WAIT=${LINUX_EARLY_BOOT_WAIT:-40}

vmlinux=$("$REPO_ROOT/scripts/fetch-debian-kernel.sh" | tail -n 1) ||
    fail "scripts/fetch-debian-kernel.sh failed"
cfg=$TEST_TMP/vm.json
out=$TEST_TMP/serial.out
make_config "$cfg" "$vmlinux" "earlyprintk=serial,ttyS0,115200 console=ttyS0 keep_bootcon" 1 "$MEM_MIB"

low_mib=3072                       # RAM below the hole at 0xc0000000
high_end=$(( (1 << 32) + (MEM_MIB - low_mib) * 1024 * 1024 - 1 ))
e820_mid="BIOS-e820: \[mem 0x0000000000100000-0x00000000bfffffff\] usable"
e820_top=$(printf 'BIOS-e820: \\[mem 0x0000000100000000-0x%016x\\] usable' "$high_end")

femtovm_start "$cfg" "$out"
rc=0
why=$(wait_for_patterns "$out" "$WAIT" "$e820_mid" "$e820_top") || rc=$?
femtovm_stop
grep 'BIOS-e820' "$out" | sed 's/^/#   /' || true
if [ "$rc" -ne 0 ]; then
    echo "$why"
    show_outputs "$out"
    fail "e820 map for a ${MEM_MIB} MiB guest"
fi
assert_not_grep "$out" 'BIOS-e820: \[mem 0x00000000c[0-9a-f]{7}-[0-9a-fx]+\] usable' \
    "usable RAM inside the MMIO hole"
