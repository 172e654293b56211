#!/usr/bin/env bash
# timeout: 60
# Per-thread seccomp filters: the event-loop thread and every vCPU thread of
# a running VM are in seccomp filter mode; a forbidden syscall on either kind
# of thread kills the process with SIGSYS (test-only build); --no-seccomp
# leaves them off and says so loudly.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
hello=$(require_guest hello.elf)
selftest=$REPO_ROOT/build/femtovm-seccomp-test
[ -x "$selftest" ] || fail "build/femtovm-seccomp-test not built"

make_config "$TEST_TMP/idle.json" "$hello" "console=ttyS0 idle" 2 64
make_config "$TEST_TMP/bye.json" "$hello" "console=ttyS0" 2 64

# seccomp_of PID TID: the Seccomp: field of one thread.
seccomp_of() { awk '/^Seccomp:/ {print $2}' "/proc/$1/task/$2/status"; }

femtovm_start "$TEST_TMP/idle.json" "$TEST_TMP/out"
wait_for_patterns "$TEST_TMP/out" 10 '^hello: idle$' || fail "guest did not reach idle"
sleep 0.2
n=0
for t in /proc/"$FVM_PID"/task/*; do
    tid=${t##*/}
    name=$(cat "$t/comm")
    # KVM attaches its own kernel worker (kvm-nx-lpage-recovery) to the VM's
    # process; it never runs our code.
    case $name in kvm-*) continue ;; esac
    mode=$(seccomp_of "$FVM_PID" "$tid")
    info "thread $tid ($name): Seccomp $mode"
    [ "$mode" = 2 ] || fail "thread $tid ($name) has Seccomp $mode, expected 2 (filter)"
    n=$((n + 1))
done
[ "$n" -eq 3 ] || fail "expected 3 threads (event loop + 2 vCPUs), found $n"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$FVM_PID/status" || fail "NoNewPrivs is not set"
femtovm_stop
assert_exit 0 "$FVM_RC" "femtovm exit after SIGTERM with filters on"

# A forbidden syscall on each thread kind kills the whole process.
for kind in vcpu vmm; do
    rc=0
    FEMTOVM_SECCOMP_SELFTEST=$kind timeout 10 "$selftest" --no-api \
        --config-file "$TEST_TMP/idle.json" >"$TEST_TMP/st.out" 2>&1 || rc=$?
    [ "$rc" -eq $((128 + 31)) ] || fail "$kind thread: exit $rc, expected $((128 + 31)) (SIGSYS)"
done
# The same binary without the trigger runs normally (the trigger is what kills it).
rc=0; timeout 10 "$selftest" --no-api --config-file "$TEST_TMP/bye.json" >/dev/null 2>&1 || rc=$?
assert_exit 0 "$rc" "selftest build without trigger"

# --no-seccomp: no filters, a loud warning.
femtovm_start "$TEST_TMP/idle.json" "$TEST_TMP/out2" --no-seccomp
wait_for_patterns "$TEST_TMP/out2" 10 '^hello: idle$' || fail "guest did not reach idle"
for t in /proc/"$FVM_PID"/task/*; do
    [ "$(seccomp_of "$FVM_PID" "${t##*/}")" = 0 ] || fail "--no-seccomp left a filter on"
done
assert_grep "$TEST_TMP/out2.err" 'WITHOUT seccomp filters'
femtovm_stop
echo "seccomp checks passed"
