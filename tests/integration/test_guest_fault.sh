#!/usr/bin/env bash
# timeout: 60
# Guest failures: a triple fault must end the VM promptly with exit code 3
# (guest failure) and a monitor log naming the triple fault and dumping the
# vCPU registers; an exception the guest handles itself (fault=pf) is the
# guest's business and ends in a clean i8042 reset (exit 0).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm
FAULT=$(require_guest fault.elf)

# Triple fault, ELF and PVH entry.
for kernel in fault.elf fault-pvh.elf; do
    cfg=$TEST_TMP/$kernel.json
    out=$TEST_TMP/$kernel.out
    make_config "$cfg" "$(require_guest "$kernel")" "console=ttyS0"
    start=$SECONDS
    femtovm_run_config "$cfg" 10 "$out"
    secs=$((SECONDS - start))
    [ "$FVM_RC" -ne 124 ] || { show_outputs "$out"; fail "$kernel: monitor hung after the triple fault"; }
    if [ "$FVM_RC" -ne 3 ]; then
        show_outputs "$out"
        fail "$kernel: exit $FVM_RC, expected 3 (guest failure)"
    fi
    [ "$secs" -le 5 ] || fail "$kernel: took ${secs}s to stop"
    assert_grep "$out" '^fault: triple faulting now$'
    assert_not_grep "$out" 'FAIL still running' "$kernel: guest kept running after ud2 with no IDT"
    assert_grep "$out.err" '[Tt]riple fault' "$kernel: monitor log does not name the triple fault"
    for reg in rip= rsp= cr0= cr3= cr4= efer=; do
        assert_grep_fixed "$out.err" "$reg" "$kernel: monitor log has no $reg register dump"
    done
    # The dump is of the faulting vCPU: paging on (CR0.PG, CR0.PE) and an
    # empty IDT (the guest's lidt of limit 0).
    assert_grep "$out.err" 'cr0=0*8[0-9a-f]{6}[13579bdf]' "$kernel: CR0 in the dump lacks PG/PE"
    assert_grep "$out.err" 'idt=0+/0000' "$kernel: IDT in the dump is not the guest's empty IDT"
    assert_grep "$out.err" 'exit code 3' "$kernel: stop reason does not give exit code 3"
    info "ok $kernel triple fault (${secs}s)"
done

# fault=pf: #PF on an unmapped address, reported by the guest, then reset.
cfg=$TEST_TMP/pf.json
out=$TEST_TMP/pf.out
make_config "$cfg" "$FAULT" "console=ttyS0 fault=pf"
femtovm_run_config "$cfg" 10 "$out"
if [ "$FVM_RC" -ne 0 ]; then
    show_outputs "$out"
    fail "fault=pf: exit $FVM_RC, expected 0 (guest reset)"
fi
assert_grep "$out" '^fault: page faulting now$'
assert_grep "$out" '^fault: exception vector=14 error=0x0 rip=0x[0-9a-f]+ cr2=0x8000000000$' \
    "fault=pf: no #PF report with cr2=0x8000000000"
assert_not_grep "$out" 'triple faulting' "fault=pf: guest went on past the page fault"
assert_not_grep "$out.err" '[Tt]riple fault|guest failure' "fault=pf: monitor saw a guest failure"
assert_grep "$out.err" 'i8042' "fault=pf: stop reason is not the i8042 reset"
info "ok fault=pf"
