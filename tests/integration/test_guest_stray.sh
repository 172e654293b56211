#!/usr/bin/env bash
# timeout: 90
# Accesses nobody backs (DESIGN.md §2: a guest can never crash or hang the
# monitor): writes to unmapped MMIO and ports are dropped, reads return 0,
# each is logged as a warning; a guest doing it in a loop must not flood the
# log (rate limiting) nor stop the VM.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm
STRAY=$(require_guest stray.elf)

# One round: 128 MiB, so RAM top is 0x8000000.
cfg=$TEST_TMP/one.json
out=$TEST_TMP/one.out
make_config "$cfg" "$STRAY" "console=ttyS0"
femtovm_run_config "$cfg" 20 "$out"
if [ "$FVM_RC" -ne 0 ] || ! grep -qx 'stray: done' "$out"; then
    show_outputs "$out"
    fail "stray: exit $FVM_RC, expected 0 after 'stray: done'"
fi
for l in 'read 0xc0001000 = 0x0' 'read 0xe0000000 = 0x0' 'read 0x8000000 = 0x0' \
         'read port 0x510 = 0x0' 'read port 0x2f8 = 0x0'; do
    grep -qxF "stray: $l" "$out" || { show_outputs "$out"; fail "no line 'stray: $l'"; }
done
n=$(grep -c '^stray: read ' "$out" || true)
assert_eq 5 "$n" "number of stray read lines"
for a in 0xc0001000 0xe0000000 0x8000000; do
    for d in wrote read; do
        assert_grep "$out.err" "Warning.*guest $d unmapped address $a " "no warning for $d at $a"
    done
done
for p in 0x510 0x2f8; do
    for d in wrote read; do
        assert_grep "$out.err" "Warning.*guest $d unmapped port $p " "no warning for $d at port $p"
    done
done
info "ok one round"

# RAM top above 4 GiB (5 GiB: 3 GiB below the hole, 2 GiB from 4 GiB: top at 0x180000000).
cfg=$TEST_TMP/high.json
out=$TEST_TMP/high.out
make_config "$cfg" "$STRAY" "console=ttyS0" 1 5120
femtovm_run_config "$cfg" 20 "$out"
assert_exit 0 "$FVM_RC" "stray, 5 GiB: exit code"
assert_grep "$out" '^stray: read 0x180000000 = 0x0$' "stray, 5 GiB: read at RAM top not 0"
assert_grep "$out.err" 'unmapped address 0x180000000 ' "stray, 5 GiB: no warning at RAM top"
info "ok RAM top above 4 GiB"

# count=2000: 20000 unmapped accesses. Still all zero, the VM keeps running
# to its reset, and the log stays short.
cfg=$TEST_TMP/many.json
out=$TEST_TMP/many.out
make_config "$cfg" "$STRAY" "console=ttyS0 count=2000"
start=$SECONDS
femtovm_run_config "$cfg" 30 "$out"
secs=$((SECONDS - start))
[ "$FVM_RC" -ne 124 ] || { show_outputs "$out"; fail "count=2000: timed out after 30 s"; }
if [ "$FVM_RC" -ne 0 ] || ! grep -qx 'stray: done' "$out"; then
    show_outputs "$out"
    fail "count=2000: exit $FVM_RC, expected 0 after 'stray: done'"
fi
assert_grep "$out" '^stray: 20000 accesses, all zero$' "count=2000: summary line missing or a read was not 0"
assert_not_grep "$out" '^stray: read ' "count=2000: per-access lines printed"
warn=$(grep -c 'unmapped' "$out.err" || true)
info "count=2000: $warn warning lines for 20000 accesses in ${secs}s"
[ "$warn" -ge 4 ] || fail "count=2000: only $warn unmapped-access warnings (expected some)"
[ "$warn" -lt 100 ] || fail "count=2000: $warn warning lines: log not rate-limited"
[ "$secs" -le 20 ] || fail "count=2000: took ${secs}s"
info "ok count=2000"
