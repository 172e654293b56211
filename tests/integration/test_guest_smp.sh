#!/usr/bin/env bash
# timeout: 90
# SMP bring-up (DESIGN.md §4: MP table in the EBDA, APIC ids, LAPIC setup):
# the smp guest starts every CPU the MP table lists with INIT-SIPI-SIPI; each
# AP prints its own line. Every configured vCPU must come online, in order.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm

check() {  # check KERNEL VCPUS
    local kernel=$1 n=$2 cfg out
    cfg=$TEST_TMP/$kernel.$n.json
    out=$TEST_TMP/$kernel.$n.out
    make_config "$cfg" "$(require_guest "$kernel")" "console=ttyS0" "$n"
    femtovm_run_config "$cfg" 30 "$out"
    if [ "$FVM_RC" -ne 0 ] || ! grep -qx "smp: $n of $n cpus online" "$out"; then
        show_outputs "$out"
        fail "$kernel, $n vCPUs: exit $FVM_RC, expected 'smp: $n of $n cpus online' and exit 0"
    fi
    assert_grep_fixed "$out" "smp: bsp apic id 0" "$kernel ($n): BSP is not APIC id 0"
    # APIC ids are the vCPU indices; APs report in start (= MP table) order.
    seq 1 $((n - 1)) | sed 's/^/smp: cpu /; s/$/ online/' >"$out.want"
    { grep '^smp: cpu ' "$out" || true; } | cmp -s - "$out.want" ||
        { show_outputs "$out"; fail "$kernel ($n): AP lines are not cpu 1..$((n - 1)) online, in order"; }
    assert_not_grep "$out" 'FAIL|exception' "$kernel ($n): guest reported a failure"
    info "ok $kernel $n vCPUs"
}

for n in 1 2 4 32; do
    check smp.elf "$n"
done
check smp-pvh.elf 2
