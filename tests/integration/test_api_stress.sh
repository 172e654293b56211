#!/usr/bin/env bash
# timeout: 180
# The API server under load, built with ASan+UBSan+LeakSanitizer: 1000
# requests over 50 concurrent keep-alive connections, plus connections that
# send garbage or hang up mid-request. Afterwards the server still answers,
# holds no leaked file descriptors, and exits without a sanitizer report.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"

require_cmd curl
require_cmd socat
FEMTOVM=$REPO_ROOT/build/femtovm-asan
[ -x "$FEMTOVM" ] || fail "build/femtovm-asan not built (make build/femtovm-asan)"
export ASAN_OPTIONS=detect_leaks=1:exitcode=23 UBSAN_OPTIONS=halt_on_error=1

api_start
expect_api 200 GET / '' '"state":"Not started"'
fds_before=$(find "/proc/$FVM_PID/fd" -mindepth 1 | wc -l)

# 50 clients x 20 requests, each client on one keep-alive connection
# (curl reuses the connection for the URLs of one invocation).
client() {
    local i=$1 out=$TEST_TMP/client$1 n
    local -a urls=()
    for n in $(seq 1 10); do
        urls+=(-o /dev/null "http://localhost/" -o /dev/null "http://localhost/machine-config")
    done
    curl -sS --unix-socket "$API_SOCK" -w '%{http_code}\n' "${urls[@]}" >"$out" 2>"$out.err" || true
    # a PUT on its own connection too
    curl -sS --unix-socket "$API_SOCK" -X PUT -H 'Content-Type: application/json' \
        -d "{\"vcpu_count\": $((i % 4 + 1)), \"mem_size_mib\": 64}" -o /dev/null -w '%{http_code}\n' \
        http://localhost/machine-config >>"$out" 2>>"$out.err" || true
}
pids=() hostile=()
for i in $(seq 1 50); do client "$i" & pids+=($!); done
# Hostile clients alongside: garbage, a half request then hang-up, an oversized body.
for i in $(seq 1 10); do
    printf 'BREW /pot HTTP/1.1\r\n\r\n' | timeout 5 socat - "UNIX-CONNECT:$API_SOCK" >/dev/null 2>&1 &
    hostile+=($!)
    printf 'PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"vcpu' | timeout 2 socat -t0 - "UNIX-CONNECT:$API_SOCK" >/dev/null 2>&1 &
    hostile+=($!)
    head -c 70000 /dev/zero | sed 's/^/x/' | { printf 'PUT /boot-source HTTP/1.1\r\nContent-Length: 70001\r\n\r\n'; cat; } |
        timeout 5 socat - "UNIX-CONNECT:$API_SOCK" >/dev/null 2>&1 &
    hostile+=($!)
done
wait "${pids[@]}"
# (never a bare `wait`: femtovm itself is a background job of this shell)
for p in "${hostile[@]}"; do wait "$p" || true; done

total=$(cat "$TEST_TMP"/client[0-9]* | wc -l)
ok=$(cat "$TEST_TMP"/client[0-9]* | grep -cE '^(200|204)$' || true)
[ "$total" -eq 1050 ] || fail "expected 1050 responses, got $total"
[ "$ok" -eq 1050 ] || fail "only $ok of 1050 requests succeeded: $(sort "$TEST_TMP"/client[0-9]* | uniq -c)"

sleep 0.5
femtovm_alive || fail "femtovm died under load: $(tail -20 "$TEST_TMP/serial.err")"
expect_api 200 GET / '' '"state":"Not started"'
expect_api 200 GET /machine-config '' '"mem_size_mib":64'
fds_after=$(find "/proc/$FVM_PID/fd" -mindepth 1 | wc -l)
[ "$fds_after" -le "$fds_before" ] || fail "file descriptors grew from $fds_before to $fds_after"

femtovm_stop
grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$TEST_TMP/serial.err" &&
    fail "sanitizer report (see above)"
assert_exit 0 "$FVM_RC" "femtovm-asan exit code (23 = leaks)"
echo "1050 requests over 50 connections OK; fds $fds_before -> $fds_after; no sanitizer reports"
