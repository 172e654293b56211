#!/usr/bin/env bash
# timeout: 60
# i8042 keyboard interrupt path and PUT /actions SendCtrlAltDel (DESIGN.md
# §5): the kbd guest enables the keyboard interrupt in the i8042 command
# byte, takes IRQ 1 through the IOAPIC and prints every scancode; the API's
# Ctrl+Alt+Del must arrive as scan code set 2 make and break codes, in order.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_root
require_kvm
require_cmd curl
require_femtovm
KBD=$(require_guest kbd.elf)
serial=$TEST_TMP/serial

api_start
expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$KBD\",\"boot_args\":\"console=ttyS0\"}"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$serial" 20 '^kbd: ready ctr=0x[0-9a-f]{2}$' || { show_outputs "$serial"; fail "kbd guest not ready"; }
expect_api 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
wait_for_patterns "$serial" 10 '^kbd: ctrl-alt-del$' || { show_outputs "$serial"; fail "no ctrl-alt-del seen by the guest"; }
for _ in $(seq 1 50); do femtovm_alive || break; sleep 0.1; done
femtovm_alive && fail "monitor still running after the guest's reset"
FVM_RC=0
wait "$FVM_PID" || FVM_RC=$?
assert_exit 0 "$FVM_RC" "exit code after the guest reset"
# Make: Ctrl 14, Alt 11, Del e0 71; break: e0 f0 71, f0 11, f0 14.
got=$(sed -n 's/^kbd: scancode \(0x[0-9a-f]*\)$/\1/p' "$serial" | tr '\n' ' ')
assert_eq "0x14 0x11 0xe0 0x71 0xe0 0xf0 0x71 0xf0 0x11 0xf0 0x14 " "$got" "scancodes"
assert_grep "$serial" '^kbd: irqs=[1-9][0-9]* bytes=11$' "interrupt/byte count"
[ "$(tail -n 1 "$serial")" = "kbd: ctrl-alt-del" ] || fail "ctrl-alt-del is not the last line"
info "ok SendCtrlAltDel via IRQ 1"

# No key within timeout_ms: "kbd: timeout", reset, exit 0.
cfg=$TEST_TMP/idle.json
out=$TEST_TMP/idle.out
make_config "$cfg" "$KBD" "console=ttyS0 timeout_ms=300"
femtovm_run_config "$cfg" 20 "$out"
assert_exit 0 "$FVM_RC" "idle kbd exit code"
[ "$(tail -n 2 "$out" | tr '\n' ' ')" = "kbd: irqs=0 bytes=0 kbd: timeout " ] || { show_outputs "$out"; fail "idle: expected no keys, then timeout"; }
info "ok timeout without keys"
