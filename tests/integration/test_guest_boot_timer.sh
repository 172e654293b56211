#!/usr/bin/env bash
# timeout: 60
# Boot timer (DESIGN.md §3): the hello guest writes 123 to port 0x3f0 once.
# With --boot-timer the monitor logs exactly one "Guest-boot-time = N us"
# line; without it, none (and the port is still claimed: no unmapped-port
# warning).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

cfg=$TEST_TMP/hello.json
make_config "$cfg" "$(require_guest hello.elf)" "console=ttyS0"

out=$TEST_TMP/on.out
femtovm_run_config "$cfg" 20 "$out" --boot-timer
assert_exit 0 "$FVM_RC" "--boot-timer run: exit code"
assert_grep "$out" '^hello: bye$'
n=$(grep -c 'Guest-boot-time' "$out.err" || true)
[ "$n" -eq 1 ] || { show_outputs "$out"; fail "--boot-timer: $n Guest-boot-time lines, expected 1"; }
line=$(grep 'Guest-boot-time' "$out.err")
[[ $line =~ Guest-boot-time\ =\ ([0-9]+)\ us ]] || fail "malformed boot-time line: $line"
us=${BASH_REMATCH[1]}
# Boot takes ~20-50 ms here; anything above 20 s means a wrong clock/unit.
if [ "$us" -le 0 ] || [ "$us" -ge 20000000 ]; then fail "implausible boot time: $us us"; fi
assert_not_grep "$out.err" 'Guest-boot-time.*Guest-boot-time' "two boot times on one line"
info "ok --boot-timer: $us us"

out=$TEST_TMP/off.out
femtovm_run_config "$cfg" 20 "$out"
assert_exit 0 "$FVM_RC" "run without --boot-timer: exit code"
assert_grep "$out" '^hello: bye$'
assert_not_grep "$out.err" 'Guest-boot-time' "Guest-boot-time logged without --boot-timer"
assert_not_grep "$out.err" 'unmapped port 0x3f0' "boot-timer port unclaimed without --boot-timer"
info "ok no boot time without the flag"
