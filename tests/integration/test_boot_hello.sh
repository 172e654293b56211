#!/usr/bin/env bash
# timeout: 60
# Smoke test of the three entry paths (DESIGN.md §4) with the hello test
# guest: ELF vmlinux-style (64-bit boot protocol), bzImage, PVH. Each must
# print its boot report (protocol, our command line, the e820 map of
# DESIGN.md §3) and stop cleanly through the i8042 reset (exit 0).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

check() {  # check KERNEL PROTOCOL MEM_MIB E820_LINE...
    local kernel=$1 proto=$2 mem=$3 out line
    shift 3
    local cfg=$TEST_TMP/$kernel.$mem.json
    out=$TEST_TMP/$kernel.$mem.out
    make_config "$cfg" "$(require_guest "$kernel")" "console=ttyS0 marker=m$mem" 1 "$mem"
    femtovm_run_config "$cfg" 20 "$out"
    if [ "$FVM_RC" -ne 0 ] || ! grep -qx 'hello: bye' "$out"; then
        show_outputs "$out"
        fail "$kernel ($mem MiB): exit $FVM_RC"
    fi
    assert_grep_fixed "$out" "hello: protocol=$proto" "$kernel: entry protocol is not $proto"
    assert_grep_fixed "$out" "hello: cmdline=console=ttyS0 marker=m$mem" "$kernel: command line not passed"
    for line in "$@"; do
        grep -qxF "hello: mem $line" "$out" || { show_outputs "$out"; fail "$kernel ($mem MiB): no e820 entry $line"; }
    done
    n=$(grep -c '^hello: mem ' "$out" || true)
    assert_eq $(( $# )) "$n" "$kernel ($mem MiB): number of e820 entries"
    info "ok $kernel $mem MiB ($proto)"
}

low=("0x0-0x9fc00 type 1" "0x9fc00-0xa0000 type 2")
check hello.elf 64bit 256 "${low[@]}" "0x100000-0x10000000 type 1"
check hello.bzImage 64bit 256 "${low[@]}" "0x100000-0x10000000 type 1"
check hello-pvh.elf pvh 256 "${low[@]}" "0x100000-0x10000000 type 1"
# RAM across the 32-bit MMIO hole: 3 GiB below it, the rest from 4 GiB.
check hello.elf 64bit 4096 "${low[@]}" "0x100000-0xc0000000 type 1" "0x100000000-0x140000000 type 1"
check hello-pvh.elf pvh 4096 "${low[@]}" "0x100000-0xc0000000 type 1" "0x100000000-0x140000000 type 1"
