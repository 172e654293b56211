#!/usr/bin/env bash
# timeout: 90
# Pause and resume through the API (DESIGN.md §2, §6): the count guest
# prints "count: <n>" every 50 ms of PIT time. PATCH /vm Paused must stop
# guest progress (no new numbers for ~1 s), Resumed must continue from the
# next number: no gap, no repeat, nothing lost.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_root
require_kvm
require_cmd curl
require_femtovm
COUNT=$(require_guest count.elf)
serial=$TEST_TMP/serial

# numbers: the counts on complete lines of the serial output so far (a line
# still being written when we look has no newline yet).
numbers() {
    local snap=$TEST_TMP/snap
    cat "$serial" >"$snap"
    if [ -n "$(tail -c 1 "$snap")" ]; then sed -i '$d' "$snap"; fi
    sed -n 's/^count: \([0-9][0-9]*\)$/\1/p' "$snap"
}
last() { numbers | tail -n 1; }

api_start
expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$COUNT\",\"boot_args\":\"console=ttyS0\"}"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$serial" 20 '^count: 5$' || { show_outputs "$serial"; fail "count guest did not count to 5"; }

for round in 1 2; do
    expect_api 204 PATCH /vm '{"state":"Paused"}'
    expect_api 200 GET / '' '"state":"Paused"'
    sleep 0.2    # a line being written when the pause landed may still arrive
    a=$(last)
    sleep 1
    b=$(last)
    [ "$a" = "$b" ] || fail "round $round: guest kept counting while paused ($a -> $b)"
    femtovm_alive || fail "monitor exited while paused"
    expect_api 204 PATCH /vm '{"state":"Resumed"}'
    expect_api 200 GET / '' '"state":"Running"'
    wait_for_patterns "$serial" 10 "^count: $((b + 3))\$" ||
        { show_outputs "$serial"; fail "round $round: no progress after resume (stuck at $b)"; }
    info "round $round: paused at $b for 1 s, resumed"
done

# Every number exactly once, in order, from 1.
numbers >"$TEST_TMP/got"
n=$(wc -l <"$TEST_TMP/got")
seq 1 "$n" | cmp -s - "$TEST_TMP/got" || {
    seq 1 "$n" | diff - "$TEST_TMP/got" | head -n 10
    fail "count sequence has a gap or a repeat"
}
assert_not_grep "$serial" 'exception' "guest took an exception"
femtovm_stop
assert_exit 0 "$FVM_RC" "exit code after SIGTERM"
info "ok $n numbers, no gap, no repeat"

# count.max ends the run with a reset (exit 0).
cfg=$TEST_TMP/max.json
out=$TEST_TMP/max.out
make_config "$cfg" "$COUNT" "console=ttyS0 count.max=4 period_ms=20"
femtovm_run_config "$cfg" 20 "$out"
assert_exit 0 "$FVM_RC" "count.max=4 exit code"
[ "$(grep '^count: ' "$out" | tr '\n' ' ')" = "count: start count: period_ms=20 count: 1 count: 2 count: 3 count: 4 count: end " ] ||
    { show_outputs "$out"; fail "count.max=4: unexpected lines"; }
info "ok count.max"
