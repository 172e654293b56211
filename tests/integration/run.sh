#!/usr/bin/env bash
# Run femtovm integration tests: every tests/integration/test_*.sh, or the
# ones named on the command line (name, test_name, or path).
# Each test exits 0 = pass, 77 = skip ("SKIP: reason" on its output), other
# = fail. Per-test timeout: TEST_TIMEOUT (default 120 s), or a line
# "# timeout: N" in the test script. Logs go to build/integration/<name>.log.
# Last line: "N passed, N failed, N skipped"; exit 1 if anything failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
logdir=${INTEGRATION_LOG_DIR:-$root/build/integration}
mkdir -p "$logdir"

tests=()
if [ $# -eq 0 ]; then
    for t in "$here"/test_*.sh; do
        [ -e "$t" ] && tests+=("$t")
    done
else
    for a in "$@"; do
        a=${a%.sh}
        a=${a##*/}
        a=${a#test_}
        [ -f "$here/test_$a.sh" ] || { echo "no such test: $a" >&2; exit 2; }
        tests+=("$here/test_$a.sh")
    done
fi

pass=0 failed=0 skipped=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    log="$logdir/$name.log"
    tmo=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
    tmo=${tmo:-${TEST_TIMEOUT:-120}}
    start=$SECONDS
    rc=0
    timeout --kill-after=10 "$tmo" bash "$t" >"$log" 2>&1 </dev/null || rc=$?
    secs=$((SECONDS - start))
    case $rc in
        0)
            pass=$((pass + 1))
            echo "PASS $name (${secs}s)"
            ;;
        77)
            skipped=$((skipped + 1))
            reason=$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)
            echo "SKIP $name (${reason:-no reason given})"
            ;;
        *)
            failed=$((failed + 1))
            if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
                echo "# timed out after ${tmo}s" >>"$log"
            fi
            echo "FAIL $name (exit $rc, ${secs}s; log $log)"
            tail -n 30 "$log" | sed 's/^/    /'
            ;;
    esac
done

echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
