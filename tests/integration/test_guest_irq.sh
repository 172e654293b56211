#!/usr/bin/env bash
# timeout: 60
# Interrupt path (DESIGN.md §2): COM1's THR-empty interrupt through the
# in-kernel IOAPIC (pin 4, edge) and LAPIC to the BSP, raised by the monitor
# through irqfd. ELF and PVH entry, 1 and 2 vCPUs.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

for kernel in irq.elf irq-pvh.elf; do
    for n in 1 2; do
        cfg=$TEST_TMP/$kernel.$n.json
        out=$TEST_TMP/$kernel.$n.out
        make_config "$cfg" "$(require_guest "$kernel")" "console=ttyS0" "$n"
        femtovm_run_config "$cfg" 20 "$out"
        if [ "$FVM_RC" -ne 0 ] || ! grep -qx 'irq: serial interrupt ok vector=36' "$out"; then
            show_outputs "$out"
            fail "$kernel, $n vCPUs: exit $FVM_RC, expected 'irq: serial interrupt ok vector=36' and exit 0"
        fi
        assert_not_grep "$out" 'FAIL|exception' "$kernel ($n): guest reported a failure"
        info "ok $kernel $n vCPUs"
    done
done
