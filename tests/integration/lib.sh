# shellcheck shell=bash
# Helpers for femtovm integration tests. Source it from a test_*.sh:
#   . "$(dirname "$0")/lib.sh"
# Tests run as root from the repo root after `make all`; each exits
# 0 = pass, 77 = skip (after printing "SKIP: reason"), anything else = fail.
# Every helper that fails a check prints "FAIL: ..." and exits 1.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FEMTOVM=${FEMTOVM:-$REPO_ROOT/build/femtovm}
GUEST_DIR=${GUEST_DIR:-$REPO_ROOT/build/guest}

# Per-test scratch directory, removed on exit unless KEEP_TMP=1.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/femtovm-it.XXXXXX")
FVM_PIDS=()

_lib_cleanup() {
    local pid
    for pid in "${FVM_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "kept $TEST_TMP" >&2
    else
        rm -rf "$TEST_TMP"
    fi
}
trap _lib_cleanup EXIT
trap 'exit 143' TERM INT HUP   # so the EXIT trap cleans up on a timeout

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
info() { echo "# $*"; }

require_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
require_kvm()  { { [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || skip "no usable /dev/kvm"; }
require_cmd()  { command -v "$1" >/dev/null || skip "$1 not installed"; }
require_femtovm() {
    [ -x "$FEMTOVM" ] || fail "monitor not built: $FEMTOVM (run make all)"
}
# require_guest NAME: path of build/guest/NAME, failing if it was not built.
require_guest() {
    local g="$GUEST_DIR/$1"
    [ -f "$g" ] || fail "test guest not built: $g (run make all)"
    echo "$g"
}

# json_str STRING: STRING as a JSON string literal (quotes included).
json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

# make_config OUT KERNEL BOOT_ARGS [VCPUS=1] [MEM_MIB=128] [INITRD]
# Writes a Firecracker-shape config file for --config-file.
make_config() {
    local out=$1 kernel=$2 args=$3 vcpus=${4:-1} mem=${5:-128} initrd=${6:-}
    {
        printf '{\n  "boot-source": {\n'
        printf '    "kernel_image_path": %s,\n' "$(json_str "$kernel")"
        [ -z "$initrd" ] || printf '    "initrd_path": %s,\n' "$(json_str "$initrd")"
        printf '    "boot_args": %s\n  },\n' "$(json_str "$args")"
        printf '  "machine-config": {\n    "vcpu_count": %d,\n    "mem_size_mib": %d\n  }\n}\n' \
            "$vcpus" "$mem"
    } >"$out"
}

# femtovm_run_config CONFIG TIMEOUT OUT [extra femtovm args...]
# Runs the monitor to completion (or TIMEOUT seconds, then SIGTERM, SIGKILL
# 5 s later). Guest serial (stdout) -> OUT, monitor log (stderr) -> OUT.err,
# exit code -> OUT.rc and $FVM_RC (124 = timed out).
femtovm_run_config() {
    local cfg=$1 tmo=$2 out=$3
    shift 3
    require_femtovm
    FVM_RC=0
    timeout --kill-after=5 "$tmo" "$FEMTOVM" --no-api --config-file "$cfg" "$@" \
        >"$out" 2>"$out.err" </dev/null || FVM_RC=$?
    echo "$FVM_RC" >"$out.rc"
}

# femtovm_start CONFIG OUT [extra args...]: start the monitor in the
# background (outputs as above); sets FVM_PID. Stop it with femtovm_stop.
femtovm_start() {
    local cfg=$1 out=$2
    shift 2
    require_femtovm
    : >"$out"
    "$FEMTOVM" --no-api --config-file "$cfg" "$@" >"$out" 2>"$out.err" </dev/null &
    FVM_PID=$!
    FVM_PIDS+=("$FVM_PID")
}

# femtovm_alive: true while the background monitor runs.
femtovm_alive() { kill -0 "$FVM_PID" 2>/dev/null; }

# femtovm_stop: SIGTERM the background monitor (SIGKILL after 3 s), reap it;
# its exit status goes to $FVM_RC.
femtovm_stop() {
    local _
    kill -TERM "$FVM_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6; do
        femtovm_alive || break
        sleep 0.5
    done
    kill -KILL "$FVM_PID" 2>/dev/null || true
    FVM_RC=0
    wait "$FVM_PID" 2>/dev/null || FVM_RC=$?
}

# wait_for_patterns FILE TIMEOUT ERE...: poll FILE until every ERE matches
# a line, the background monitor exits, or TIMEOUT seconds pass. Returns 0
# when all matched; otherwise 1 and prints the patterns still missing.
wait_for_patterns() {
    local file=$1 tmo=$2
    shift 2
    local deadline=$((SECONDS + tmo)) p dead=0
    local -a missing
    while :; do
        # Sample liveness before grepping, so output written just before
        # the monitor exited is still seen on this pass.
        [ -n "${FVM_PID:-}" ] && ! femtovm_alive && dead=1
        missing=()
        for p in "$@"; do
            grep -qE -- "$p" "$file" 2>/dev/null || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ $dead -eq 1 ]; then
            printf 'monitor exited before printing: %s\n' "${missing[@]}"
            return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            printf 'not seen within %ss: %s\n' "$tmo" "${missing[@]}"
            return 1
        fi
        sleep 0.2
    done
}

# show_outputs OUT: dump the tail of guest serial and monitor log (for failures).
show_outputs() {
    local out=$1
    echo "--- guest serial ($out), last 40 lines"
    tail -n 40 "$out" 2>/dev/null || true
    echo "--- monitor log ($out.err), last 20 lines"
    tail -n 20 "$out.err" 2>/dev/null || true
}

# assert_grep FILE ERE [what]: FILE has a line matching ERE.
assert_grep() {
    grep -qE -- "$2" "$1" || fail "${3:-$1 has no line matching /$2/}"
}
# assert_grep_fixed FILE STRING [what]: FILE contains STRING literally.
assert_grep_fixed() {
    grep -qF -- "$2" "$1" || fail "${3:-$1 does not contain \"$2\"}"
}
# assert_not_grep FILE ERE [what]: no line of FILE matches ERE.
assert_not_grep() {
    ! grep -qE -- "$2" "$1" || fail "${3:-$1 has a line matching /$2/}"
}
# assert_exit EXPECTED ACTUAL [what]
assert_exit() {
    [ "$2" -eq "$1" ] || fail "${3:-exit code} is $2, expected $1"
}
# assert_eq EXPECTED ACTUAL [what]
assert_eq() {
    [ "$2" = "$1" ] || fail "${3:-value} is '$2', expected '$1'"
}
