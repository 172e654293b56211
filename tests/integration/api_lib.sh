# shellcheck shell=bash
# Helpers for API tests: start femtovm on a socket and talk to it with curl
# exactly as Firecracker's getting-started guide does.

# api_start [extra femtovm args...]: start femtovm --api-sock in the
# background; sets API_SOCK, FVM_PID; serial -> $TEST_TMP/serial, log -> .err
# With API_NETNS set, femtovm runs inside that network namespace (its taps
# live there); the API socket is a file, reachable from the host as usual.
api_start() {
    API_SOCK="$TEST_TMP/api.sock"
    : >"$TEST_TMP/serial"
    local -a pre=()
    [ -z "${API_NETNS:-}" ] || pre=(ip netns exec "$API_NETNS")
    "${pre[@]}" "$FEMTOVM" --api-sock "$API_SOCK" "$@" >"$TEST_TMP/serial" 2>"$TEST_TMP/serial.err" </dev/null &
    FVM_PID=$!
    FVM_PIDS+=("$FVM_PID")
    local _
    for _ in $(seq 1 100); do
        [ -S "$API_SOCK" ] && return 0
        femtovm_alive || { cat "$TEST_TMP/serial.err"; fail "femtovm exited before listening"; }
        sleep 0.05
    done
    fail "API socket $API_SOCK did not appear"
}

# api METHOD PATH [JSON]: sets API_CODE and API_BODY.
api() {
    local method=$1 path=$2 data=${3:-}
    local -a args=(-sS --unix-socket "$API_SOCK" -X "$method" -o "$TEST_TMP/resp" -w '%{http_code}'
                   -H 'Accept: application/json')
    [ -z "$data" ] || args+=(-H 'Content-Type: application/json' -d "$data")
    API_CODE=$(curl "${args[@]}" "http://localhost$path") || API_CODE=000
    API_BODY=$(cat "$TEST_TMP/resp" 2>/dev/null || true)
}

# expect_api CODE METHOD PATH [JSON] [BODY-ERE]
expect_api() {
    local code=$1 method=$2 path=$3 data=${4:-} pat=${5:-}
    api "$method" "$path" "$data"
    [ "$API_CODE" = "$code" ] || fail "$method $path $data: HTTP $API_CODE (expected $code): $API_BODY"
    if [ -n "$pat" ]; then
        grep -qE -- "$pat" <<<"$API_BODY" || fail "$method $path: body '$API_BODY' lacks /$pat/"
    fi
}
