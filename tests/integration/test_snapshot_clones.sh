#!/usr/bin/env bash
# timeout: 120
# FaaS fan-out (femtovm-fanout, README "Clone fan-out"): snapshot the count
# guest, restore 20 clones of it at once with the tool, and check that
# every clone's serial goes on from exactly last+1 with no gap or repeat,
# and that the JSON report has 20 loaded clones with plausible latencies
# and memory (Rss = Private + Shared, Pss sums, distinct pids) and no
# process left afterwards. Then: a missing state file fails every clone
# with the API's fault message, exit 1, nothing left running; a vsock
# override on a snapshot without vsock is refused the same way; bad
# command lines exit 2; --detach leaves running clones, --hold stops them.
# Last, 20 clones of the vsock echo guest, each with its own uds_path
# (--vsock-uds), and an echo through each clone's own socket.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"
# shellcheck source=tests/integration/snap_lib.sh
. "$(dirname "$0")/snap_lib.sh"

snap_test_init
require_cmd python3
require_cmd socat
FANOUT=$REPO_ROOT/build/femtovm-fanout
[ -x "$FANOUT" ] || fail "fan-out tool not built: $FANOUT (run make all)"
VSOCK_GUEST=$(require_guest vsock/vsock.elf)
N=20

# no_process_left PIDS...: none of them runs any more.
no_process_left() {
    local p
    for p in "$@"; do
        ! kill -0 "$p" 2>/dev/null || fail "clone process $p still runs"
    done
}

# json_pids FILE: the clones' pids from a --json report.
json_pids() {
    python3 -c 'import json,sys; print(" ".join(str(c["pid"]) for c in json.load(open(sys.argv[1]))["clones"]))' "$1"
}

# --- the snapshot: count guest, 128 MiB -------------------------------------
start_fvm orig
boot_count 1
expect_api 204 PATCH /vm '{"state":"Paused"}'
ST=$TEST_TMP/count.state MEM=$TEST_TMP/count.mem
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$ST\",\"mem_file_path\":\"$MEM\",\"snapshot_type\":\"Full\"}"
kill_fvm
ORIG=$SERIAL
last=$(numbers "$ORIG" | tail -n 1)
[ -n "$last" ] || fail "no count before the snapshot"
info "snapshot at count $last"

# --- 20 clones at once -----------------------------------------------------
W=$TEST_TMP/fan
rc=0
"$FANOUT" --femtovm "$FEMTOVM" -n $N -s "$ST" -m "$MEM" -d "$W" --wait-serial 'count: ' \
    --wait-count 5 --json >"$TEST_TMP/report.json" 2>"$TEST_TMP/fanout.err" || rc=$?
[ $rc -eq 0 ] || { cat "$TEST_TMP/fanout.err"; head -c 3000 "$TEST_TMP/report.json"; fail "fan-out of $N clones: exit $rc"; }
for i in $(seq 0 $((N - 1))); do
    SERIAL=$W/clone-$i.serial counts_go_on_from "$ORIG" "clone $i"
    [ "$(numbers "$W/clone-$i.serial" | head -n 1)" = $((last + 1)) ] ||
        { head -n 3 "$W/clone-$i.serial"; fail "clone $i did not go on from $((last + 1))"; }
    [ ! -e "$W/clone-$i.sock" ] || fail "clone $i's API socket was left behind"
done
info "ok $N clones each went on from $((last + 1)), no gap, no repeat"

python3 - "$TEST_TMP/report.json" "$N" "$ST" <<'PY' || fail "JSON report is not plausible"
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
def check(cond, what):
    if not cond:
        print("report:", what); sys.exit(1)
check(r["count"] == n and r["loaded"] == n and r["failed"] == 0, "counts")
check(r["snapshot_path"] == sys.argv[3] and r["clones_are"] == "stopped", "paths/outcome")
c = r["clones"]
check(len(c) == n and [x["index"] for x in c] == list(range(n)), "clone list")
check(len({x["pid"] for x in c}) == n and all(x["pid"] > 1 for x in c), "distinct pids")
check(all(x["state"] == "ok" and "error" not in x for x in c), "every clone ok")
check(all(0 < x["load_ms"] < 10000 for x in c), "load latencies in (0, 10 s)")
t = r["timing_ms"]
check(0 < t["load"]["min"] <= t["load"]["median"] <= t["load"]["max"], "load stats")
check(0 < t["fanout"] <= t["spawn_to_last_loaded"] and t["spawn_to_ready"] > 0, "timings")
check(r["measured"] == n, "every clone measured")
for key in ("rss", "pss", "private", "shared", "anonymous"):
    check(sum(x["memory_kib"][key] for x in c) == r["memory_kib"][key], "sum of " + key)
for x in c:
    m = x["memory_kib"]
    check(0 < m["pss"] <= m["rss"] < 128 * 1024, "clone Pss/Rss")
    check(m["private"] + m["shared"] == m["rss"], "Rss = Private + Shared")
# The binary, libraries and the snapshot's page cache are shared: the
# clones' Pss sum must be well below their Rss sum.
check(r["memory_kib"]["pss"] < r["memory_kib"]["rss"] / 2, "sharing")
print("report: load median %.2f ms, fan-out %.2f ms, Pss sum %d KiB, Rss sum %d KiB" %
      (t["load"]["median"], t["fanout"], r["memory_kib"]["pss"], r["memory_kib"]["rss"]))
PY
# shellcheck disable=SC2046
no_process_left $(json_pids "$TEST_TMP/report.json")
info "ok JSON report plausible, no clone left running"

# --- failures: every clone reports the API's fault, nothing is left --------
rc=0
"$FANOUT" --femtovm "$FEMTOVM" -n 5 -s "$TEST_TMP/missing.state" -m "$MEM" -d "$TEST_TMP/bad" \
    --json >"$TEST_TMP/bad.json" 2>"$TEST_TMP/bad.err" || rc=$?
assert_exit 1 $rc "exit code for a missing state file"
[ "$(grep -c 'HTTP 400: cannot load snapshot.*missing.state' "$TEST_TMP/bad.err")" = 5 ] ||
    { cat "$TEST_TMP/bad.err"; fail "not every clone reported the API's fault message"; }
# shellcheck disable=SC2046
no_process_left $(json_pids "$TEST_TMP/bad.json")
! pgrep -f "$TEST_TMP/bad/" >/dev/null || fail "a monitor of the failed fan-out still runs"
info "ok missing state file: exit 1, fault message per clone, no process left"

rc=0
"$FANOUT" --femtovm "$FEMTOVM" -n 3 -s "$ST" -m "$MEM" -d "$TEST_TMP/vs0" --vsock-uds "$TEST_TMP/v%d.sock" \
    --json >"$TEST_TMP/vs0.json" 2>"$TEST_TMP/vs0.err" || rc=$?
assert_exit 1 $rc "exit code for a vsock override without vsock"
assert_grep "$TEST_TMP/vs0.err" 'vsock_override: the snapshot has no vsock device'
# shellcheck disable=SC2046
no_process_left $(json_pids "$TEST_TMP/vs0.json")
info "ok vsock override on a device-less snapshot refused"

for bad in "-n 0 -s $ST -m $MEM" "-n 2 -s $ST" "-n 2 -s $ST -m $MEM --vsock-uds /tmp/same.sock" \
           "-n 2 -s $ST -m $MEM --hold 1 --detach" "-n 2 -s $ST -m $MEM --net-override eth0=tap%x"; do
    rc=0
    # shellcheck disable=SC2086
    "$FANOUT" $bad >/dev/null 2>"$TEST_TMP/usage.err" || rc=$?
    assert_exit 2 $rc "exit code for '$bad'"
    [ -s "$TEST_TMP/usage.err" ] || fail "no message for '$bad'"
done
"$FANOUT" --help | grep -q -- '--vsock-uds TEMPLATE' || fail "--help does not document --vsock-uds"
info "ok bad command lines exit 2 with a message"

# --- --detach leaves the clones running; --hold stops them after a while -----
"$FANOUT" --femtovm "$FEMTOVM" -n 2 -s "$ST" -m "$MEM" -d "$TEST_TMP/det" --detach --json \
    >"$TEST_TMP/det.json" || fail "detached fan-out failed"
read -r -a det <<<"$(json_pids "$TEST_TMP/det.json")"
FVM_PIDS+=("${det[@]}")
for i in 0 1; do
    kill -0 "${det[$i]}" 2>/dev/null || fail "detached clone $i is not running"
    [ -S "$TEST_TMP/det/clone-$i.sock" ] || fail "detached clone $i has no API socket"
    API_SOCK=$TEST_TMP/det/clone-$i.sock expect_api 200 GET / '' '"state":"Running"'
done
n0=$(numbers "$TEST_TMP/det/clone-0.serial" | wc -l)
sleep 0.5
n1=$(numbers "$TEST_TMP/det/clone-0.serial" | wc -l)
[ "$n1" -gt "$n0" ] || fail "detached clone 0 stopped counting"
kill -TERM "${det[@]}"
info "ok --detach: clones run on after the tool exited, API sockets answer"

start=$SECONDS
"$FANOUT" --femtovm "$FEMTOVM" -n 2 -s "$ST" -m "$MEM" -d "$TEST_TMP/hold" --hold 1 --clean --json \
    >"$TEST_TMP/hold.json" || fail "held fan-out failed"
[ $((SECONDS - start)) -ge 1 ] || fail "--hold 1 returned at once"
# shellcheck disable=SC2046
no_process_left $(json_pids "$TEST_TMP/hold.json")
[ ! -e "$TEST_TMP/hold" ] || fail "--clean left the work directory"
info "ok --hold: clones stopped after the hold, --clean removed the files"

# --- per-clone vsock overrides ------------------------------------------------
start_fvm vsock
expect_api 204 PUT /boot-source "{\"kernel_image_path\":\"$VSOCK_GUEST\",\"boot_args\":\"console=ttyS0 vsock.listen=5000\"}"
expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
expect_api 204 PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$TEST_TMP/orig-v.sock\"}"
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$SERIAL" 20 '^vsock: ready cid=3 listen=5000$' ||
    { show_outputs "$SERIAL"; fail "vsock guest not ready"; }
expect_api 204 PATCH /vm '{"state":"Paused"}'
VST=$TEST_TMP/vsock.state VMEM=$TEST_TMP/vsock.mem
expect_api 204 PUT /snapshot/create "{\"snapshot_path\":\"$VST\",\"mem_file_path\":\"$VMEM\",\"snapshot_type\":\"Full\"}"
kill_fvm
rm -f "$TEST_TMP/orig-v.sock"   # left by the SIGKILL; no clone may create it again
mkdir -p "$TEST_TMP/vs"
"$FANOUT" --femtovm "$FEMTOVM" -n $N -s "$VST" -m "$VMEM" -d "$TEST_TMP/vfan" \
    --vsock-uds "$TEST_TMP/vs/v%d.sock" --detach --json >"$TEST_TMP/vfan.json" 2>"$TEST_TMP/vfan.err" ||
    { cat "$TEST_TMP/vfan.err"; fail "fan-out of $N vsock clones failed"; }
read -r -a vpids <<<"$(json_pids "$TEST_TMP/vfan.json")"
FVM_PIDS+=("${vpids[@]}")
[ ! -e "$TEST_TMP/orig-v.sock" ] || fail "a clone listens on the original uds_path"
for i in $(seq 0 $((N - 1))); do
    uds=$TEST_TMP/vs/v$i.sock
    [ -S "$uds" ] || fail "clone $i has no vsock socket $uds"
    got=$( (printf 'CONNECT 5000\nclone %d\n' "$i"; sleep 0.3) | timeout 10 socat - "UNIX-CONNECT:$uds") || true
    printf '%s\n' "$got" | head -n 1 | grep -qE '^OK [0-9]+$' || fail "clone $i: no OK line: '$got'"
    printf '%s\n' "$got" | grep -qx "clone $i" || fail "clone $i: no echo through its own socket: '$got'"
done
kill -TERM "${vpids[@]}"
info "ok $N vsock clones, each with its own uds_path, each echoes through it"
