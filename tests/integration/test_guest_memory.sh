#!/usr/bin/env bash
# timeout: 90
# Guest memory sizes and the e820 map (DESIGN.md §3): low RAM below the
# EBDA, EBDA reserved, RAM from 1 MiB to min(top, 3 GiB), the rest from
# 4 GiB. The hello guest prints the map it got and the usable total.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

MIB=$((1 << 20))
HOLE=$((0xC0000000))
FOUR_G=$((1 << 32))

# expected_map MEM_MIB: the e820 lines femtovm must give, and sets WANT_KIB.
expected_map() {
    local bytes=$(($1 * MIB)) low
    printf 'hello: mem 0x0-0x9fc00 type 1\n'
    printf 'hello: mem 0x9fc00-0xa0000 type 2\n'
    low=$((bytes < HOLE ? bytes : HOLE))
    printf 'hello: mem 0x100000-0x%x type 1\n' "$low"
    WANT_KIB=$(((0x9fc00 + low - MIB) / 1024))
    if [ "$bytes" -gt "$HOLE" ]; then
        printf 'hello: mem 0x%x-0x%x type 1\n' "$FOUR_G" $((FOUR_G + bytes - HOLE))
        WANT_KIB=$((WANT_KIB + (bytes - HOLE) / 1024))
    fi
}

check() {  # check KERNEL MEM_MIB
    local kernel=$1 mem=$2 cfg out
    cfg=$TEST_TMP/$kernel.$mem.json
    out=$TEST_TMP/$kernel.$mem.out
    make_config "$cfg" "$(require_guest "$kernel")" "console=ttyS0" 1 "$mem"
    femtovm_run_config "$cfg" 30 "$out"
    if [ "$FVM_RC" -ne 0 ] || ! grep -qx 'hello: bye' "$out"; then
        show_outputs "$out"
        fail "$kernel, $mem MiB: exit $FVM_RC, expected 0 after 'hello: bye'"
    fi
    expected_map "$mem" >"$out.want"
    expected_map "$mem" >/dev/null   # sets WANT_KIB in this shell
    grep '^hello: mem ' "$out" >"$out.map" || true
    if ! cmp -s "$out.map" "$out.want"; then
        show_outputs "$out"
        echo "--- expected map"; cat "$out.want"
        fail "$kernel, $mem MiB: e820 map differs"
    fi
    assert_grep_fixed "$out" "hello: ram_kib=$WANT_KIB" "$kernel, $mem MiB: ram_kib is not $WANT_KIB"
    info "ok $kernel $mem MiB (ram_kib=$WANT_KIB)"
}

for mem in 2 3072 3073 4096 16384; do
    check hello.elf "$mem"
done
check hello-pvh.elf 2
check hello-pvh.elf 16384

# 1 MiB: no RAM at 1 MiB for the kernel. A start-up error (exit 1) naming
# the segment that does not fit in guest RAM; the guest never runs.
cfg=$TEST_TMP/one.json
out=$TEST_TMP/one.out
make_config "$cfg" "$(require_guest hello.elf)" "console=ttyS0" 1 1
femtovm_run_config "$cfg" 20 "$out"
if [ "$FVM_RC" -ne 1 ]; then
    show_outputs "$out"
    fail "1 MiB: exit $FVM_RC, expected 1 (VM could not be started)"
fi
assert_grep "$out.err" 'Error\] kernel: ELF segment 0 \[0x100000, \+0x[0-9a-f]+\) is below 1 MiB or outside guest RAM \(1 MiB\)$' \
    "1 MiB: no error naming the kernel segment outside guest RAM"
assert_not_grep "$out" 'hello:' "1 MiB: the guest ran"
info "ok 1 MiB refused"
