#!/usr/bin/env bash
# timeout: 120
# femtovm-jailer end to end (DESIGN.md §8): jail build/femtovm running the
# idling hello guest and check from the host through /proc that it runs as
# the jail uid/gid with no capabilities and no_new_privs, in its own mount
# namespace rooted at the jail, in the test's netns and cgroups, with a
# pids.max that bites; then --new-pid-ns + --daemonize (and cgroup v2
# detection), and that every failure mode names its step. Creates only its
# own netns and cgroups (under a parent of its own) and removes them.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/api_lib.sh
. "$(dirname "$0")/api_lib.sh"
# shellcheck source=tests/integration/snap_lib.sh
. "$(dirname "$0")/snap_lib.sh"

require_root
require_kvm
require_femtovm
require_cmd ip
JAILER=${JAILER:-$REPO_ROOT/build/femtovm-jailer}
[ -x "$JAILER" ] || fail "jailer not built: $JAILER (make build/femtovm-jailer)"
HELLO=$(require_guest hello.elf)

JUID=12345 JGID=12345          # no passwd entry needed
BASE=$TEST_TMP/jail            # --chroot-base-dir
NS=femtovm-jail-$$             # our netns
CG=femtovm-it-$$               # our --parent-cgroup in every hierarchy
PIDS_MNT=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { print $2; exit }' /proc/mounts)
V2_MNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$PIDS_MNT" ] || skip "no cgroup v1 pids hierarchy (this test is written for v1 hosts)"
KILL_PIDS=()

cleanup() {
    local p d _
    for p in "${KILL_PIDS[@]}" "${FVM_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${FVM_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    # Only cgroups below our own parent; a dying task may hold one briefly.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        for d in "$PIDS_MNT/$CG" "${V2_MNT:+$V2_MNT/$CG}"; do
            if [ -z "$d" ] || [ ! -d "$d" ]; then continue; fi
            find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
            rmdir "$d" 2>/dev/null || true
        done
        [ -d "$PIDS_MNT/$CG" ] || { [ -n "$V2_MNT" ] && [ -d "$V2_MNT/$CG" ]; } || break
        sleep 0.3
    done
    [ ! -d "$PIDS_MNT/$CG" ] || echo "WARNING: could not remove $PIDS_MNT/$CG"
    ip netns del "$NS" 2>/dev/null || true
    _lib_cleanup
}
trap cleanup EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
NS_PATH=/var/run/netns/$NS
[ -e "$NS_PATH" ] || NS_PATH=/run/netns/$NS

# prepare_jail ID: the jail root with what femtovm needs inside, paths
# relative to it: the guest, the config, and (femtovm being dynamically
# linked here) its shared libraries. Prints the root.
prepare_jail() {
    local root=$BASE/femtovm/$1/root lib
    mkdir -p "$root"
    cp "$HELLO" "$root/hello.elf"
    make_config "$root/config.json" /hello.elf "console=ttyS0 idle" 1 64
    for lib in $(ldd "$FEMTOVM" | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    chmod -R a+rX "$root"
    echo "$root"
}

# jailer ID OUT [jailer options...]: run the jailer in the foreground (10 s
# max); exit code to $RC, stdout to OUT, stderr to OUT.err.
jailer() {
    local id=$1 out=$2
    shift 2
    RC=0
    timeout 10 "$JAILER" --id "$id" --exec-file "$FEMTOVM" --uid $JUID --gid $JGID \
        --chroot-base-dir "$BASE" "$@" -- --no-api --config-file /config.json \
        >"$out" 2>"$out.err" </dev/null || RC=$?
}

status() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '\t ' ' '; }

# check_jailed PID ROOT: the common /proc checks.
check_jailed() {
    local pid=$1 root=$2 c
    assert_eq "$JUID $JUID $JUID $JUID" "$(status "$pid" Uid)" "Uid (real effective saved fs)"
    assert_eq "$JGID $JGID $JGID $JGID" "$(status "$pid" Gid)" "Gid"
    assert_eq "" "$(status "$pid" Groups)" "supplementary groups"
    for c in CapInh CapPrm CapEff CapBnd CapAmb; do
        assert_eq 0000000000000000 "$(status "$pid" $c)" "$c"
    done
    assert_eq 1 "$(status "$pid" NoNewPrivs)" NoNewPrivs
    # femtovm's own per-thread filters (installed once the VM started).
    assert_eq 2 "$(status "$pid" Seccomp)" "Seccomp (filter mode)"
    [ "$(readlink /proc/"$pid"/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ] ||
        fail "femtovm shares the host mount namespace"
    # Its root is the jail directory (same inode), and only the jail is there.
    assert_eq "$(stat -c %d:%i "$root")" "$(stat -Lc %d:%i /proc/"$pid"/root)" "root of the process"
    [ ! -e /proc/"$pid"/root/etc ] || fail "host /etc visible inside the jail"
    assert_eq /femtovm "$(readlink /proc/"$pid"/exe)" "exe inside the jail"
    [ "$(stat -Lc %i /proc/"$pid"/exe)" != "$(stat -c %i "$FEMTOVM")" ] || fail "binary not copied"
    assert_eq "$JUID:$JGID 700" "$(stat -c '%u:%g %a' "$root")" "jail root owner/mode"
    assert_eq "0:0 755" "$(stat -c '%u:%g %a' "$root/femtovm")" "copied binary owner/mode"
    for c in kvm net/tun urandom; do
        assert_eq "$(stat -c '%t:%T' /dev/$c) $JUID:$JGID 600" \
            "$(stat -c '%t:%T %u:%g %a' "$root/dev/$c")" "/dev/$c in the jail"
    done
}

# 1. The full jail: netns, v1 pids cgroup with a sane limit, rlimits.
ID=vm-main
ROOT=$(prepare_jail $ID)
out=$TEST_TMP/main.out
"$JAILER" --id $ID --exec-file "$FEMTOVM" --uid $JUID --gid $JGID --chroot-base-dir "$BASE" \
    --netns "$NS_PATH" --cgroup pids.max=16 --parent-cgroup "$CG" \
    --resource-limit no-file=256 --resource-limit fsize=1048576 \
    -- --no-api --config-file /config.json >"$out" 2>"$out.err" </dev/null &
FVM_PID=$!
FVM_PIDS+=("$FVM_PID")
wait_for_patterns "$out" 20 '^hello: idle$' || { show_outputs "$out"; fail "jailed guest did not start"; }
check_jailed "$FVM_PID" "$ROOT"
assert_eq "net:[$(stat -Lc %i "$NS_PATH")]" "$(readlink /proc/$FVM_PID/ns/net)" "net namespace"
grep -qx "[0-9]*:pids:/$CG/$ID" /proc/$FVM_PID/cgroup || { cat /proc/$FVM_PID/cgroup; fail "not in the pids cgroup"; }
assert_eq 16 "$(cat "$PIDS_MNT/$CG/$ID/pids.max")" "pids.max"
grep -qx "$FVM_PID" "$PIDS_MNT/$CG/$ID/cgroup.procs" || fail "pid not in cgroup.procs"
grep -qE '^Max open files +256 +256 ' /proc/$FVM_PID/limits || fail "no-file limit"
grep -qE '^Max file size +1048576 +1048576 ' /proc/$FVM_PID/limits || fail "fsize limit"
assert_eq "$(readlink /proc/$$/ns/pid)" "$(readlink /proc/$FVM_PID/ns/pid)" "pid ns without --new-pid-ns"
femtovm_stop
assert_exit 0 "$FVM_RC" "jailed femtovm exit code after SIGTERM"
info "ok jailed: uid/gid, caps, no_new_privs, seccomp, mount ns + root, netns, cgroup, rlimits"

# 1b. Devices inside the jail: a drive file in the jail and a tap in the
# test netns owned by the jail's uid (no capabilities needed to attach).
ID=vm-dev
ROOT=$(prepare_jail $ID)
cp "$(require_guest blk.elf)" "$ROOT/blk.elf"
head -c 1048576 /dev/zero >"$ROOT/disk.img"
chown $JUID:$JGID "$ROOT/disk.img"
printf '{"boot-source":{"kernel_image_path":"/blk.elf","boot_args":"console=ttyS0 blk.write=7:0x5c"},
  "machine-config":{"vcpu_count":1,"mem_size_mib":64},
  "drives":[{"drive_id":"rootfs","path_on_host":"/disk.img","is_root_device":true,"is_read_only":false}]}' \
    >"$ROOT/config.json"
out=$TEST_TMP/dev.out
jailer $ID "$out" --netns "$NS_PATH"
assert_exit 0 "$RC" "jailed blk guest exit code"
assert_grep "$out" '^blk: write sector 7 ok$' "jailed blk guest wrote its sector"
assert_grep "$out" '^blk: done$'
[ "$(od -An -tx1 -j $((7 * 512)) -N 4 "$ROOT/disk.img" | tr -d ' ')" = 5c5c5c5c ] ||
    fail "sector 7 of the jailed drive does not hold the guest's bytes"

ID=vm-net
ROOT=$(prepare_jail $ID)
cp "$(require_guest net.elf)" "$ROOT/net.elf"
ip -n "$NS" tuntap add dev fvjtap0 mode tap user $JUID group $JGID
ip -n "$NS" addr add 172.30.0.1/24 dev fvjtap0
ip -n "$NS" link set fvjtap0 up
printf '{"boot-source":{"kernel_image_path":"/net.elf","boot_args":"console=ttyS0 net.ip=172.30.0.2 net.run_ms=30000"},
  "machine-config":{"vcpu_count":1,"mem_size_mib":64},
  "network-interfaces":[{"iface_id":"eth0","host_dev_name":"fvjtap0","guest_mac":"06:00:ac:1e:00:02"}]}' \
    >"$ROOT/config.json"
out=$TEST_TMP/net.out
"$JAILER" --id $ID --exec-file "$FEMTOVM" --uid $JUID --gid $JGID --chroot-base-dir "$BASE" \
    --netns "$NS_PATH" -- --no-api --config-file /config.json >"$out" 2>"$out.err" </dev/null &
FVM_PID=$!
FVM_PIDS+=("$FVM_PID")
wait_for_patterns "$out" 20 '^net: ready' || { show_outputs "$out"; fail "jailed net guest did not start"; }
check_jailed "$FVM_PID" "$ROOT"
ip netns exec "$NS" ping -c 3 -W 2 172.30.0.2 >"$TEST_TMP/ping" || { cat "$TEST_TMP/ping"; fail "no ping reply from the jailed guest"; }
femtovm_stop

ID=vm-vsock
ROOT=$(prepare_jail $ID)
cp "$(require_guest vsock/vsock.elf)" "$ROOT/vsock.elf"
printf '{"boot-source":{"kernel_image_path":"/vsock.elf","boot_args":"console=ttyS0 vsock.listen=5000"},
  "machine-config":{"vcpu_count":1,"mem_size_mib":64},
  "vsock":{"guest_cid":3,"uds_path":"/run/v.sock"}}' >"$ROOT/config.json"
out=$TEST_TMP/vsock.out
"$JAILER" --id $ID --exec-file "$FEMTOVM" --uid $JUID --gid $JGID --chroot-base-dir "$BASE" \
    -- --no-api --config-file /config.json >"$out" 2>"$out.err" </dev/null &
FVM_PID=$!
FVM_PIDS+=("$FVM_PID")
wait_for_patterns "$out" 20 '^vsock: ready' || { show_outputs "$out"; fail "jailed vsock guest did not start"; }
check_jailed "$FVM_PID" "$ROOT"
got=$( (printf 'CONNECT 5000\njailed hello\n'; sleep 1) | timeout 10 socat - "UNIX-CONNECT:$ROOT/run/v.sock")
[ "$(printf '%s\n' "$got" | sed -n 2p)" = "jailed hello" ] || fail "vsock echo through the jail: '$got'"
femtovm_stop
info "ok jailed devices: blk drive in the jail, tap in the netns (ping), vsock echo"

# 1c. Snapshots in the jail (no /proc there: the sparse Full write falls
# back to reading every page; the event loop's seccomp filter is on): the
# count guest booted through the jailed API with dirty tracking, a Full and
# a Diff written inside the jail; a second jail loads the Full with the
# Diff merged in and the guest goes on from exactly the next number.
# jailed_api ID OUT: a jailed monitor serving the API on ROOT/run/api.sock.
jailed_api() {
    "$JAILER" --id "$1" --exec-file "$FEMTOVM" --uid $JUID --gid $JGID --chroot-base-dir "$BASE" \
        -- --api-sock /run/api.sock >"$2" 2>"$2.err" </dev/null &
    FVM_PID=$!
    FVM_PIDS+=("$FVM_PID")
    API_SOCK=$BASE/femtovm/$1/root/run/api.sock
    local _
    for _ in $(seq 1 100); do
        [ -S "$API_SOCK" ] && return 0
        sleep 0.05
    done
    show_outputs "$2"
    fail "jailed API socket $API_SOCK did not appear"
}
ROOT=$(prepare_jail vm-snap)
cp "$(require_guest count.elf)" "$ROOT/count.elf"
out=$TEST_TMP/snap1.out
jailed_api vm-snap "$out"
expect_api 204 PUT /boot-source '{"kernel_image_path":"/count.elf","boot_args":"console=ttyS0"}'
expect_api 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64,"track_dirty_pages":true}'
expect_api 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for_patterns "$out" 20 '^count: 3$' || { show_outputs "$out"; fail "jailed count guest did not count"; }
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 204 PUT /snapshot/create '{"snapshot_path":"/full.state","mem_file_path":"/full.mem"}'
expect_api 204 PATCH /vm '{"state":"Resumed"}'
now=$(numbers "$out" | tail -n 1)
wait_for_patterns "$out" 10 "^count: $((now + 3))\$" || { show_outputs "$out"; fail "jailed count guest stopped after resume"; }
expect_api 204 PATCH /vm '{"state":"Paused"}'
expect_api 204 PUT /snapshot/create '{"snapshot_path":"/diff.state","mem_file_path":"/diff.mem","snapshot_type":"Diff"}'
femtovm_alive || fail "jailed femtovm died writing snapshots (seccomp?)"
kill -KILL "$FVM_PID"; wait "$FVM_PID" 2>/dev/null || true
[ "$(stat -c %s "$ROOT/full.mem")" = $((64 << 20)) ] || fail "jailed Full memory file is not 64 MiB"
ROOT2=$(prepare_jail vm-snap2)
cp --sparse=always "$ROOT/full.mem" "$ROOT2/mem"
"$REPO_ROOT/build/femtovm-snap-merge" "$ROOT2/mem" "$ROOT/diff.mem" || fail "merge of the jailed Diff failed"
cp "$ROOT/diff.state" "$ROOT2/diff.state"
chown $JUID:$JGID "$ROOT2/mem" "$ROOT2/diff.state"
SERIAL=$TEST_TMP/snap2.out
jailed_api vm-snap2 "$SERIAL"
expect_api 204 PUT /snapshot/load '{"snapshot_path":"/diff.state","mem_backend":{"backend_type":"File","backend_path":"/mem"},"resume_vm":true}'
counts_go_on_from "$out" "jailed Full + Diff"
check_jailed "$FVM_PID" "$ROOT2"
femtovm_stop
info "ok snapshots in the jail: Full and Diff written, merged, loaded in another jail"

# 2. A limit that bites: pids.max=1 leaves no room for the vCPU thread.
prepare_jail vm-pids1 >/dev/null
jailer vm-pids1 "$TEST_TMP/pids1.out" --cgroup pids.max=1 --parent-cgroup "$CG"
[ "$RC" -ne 0 ] || fail "femtovm ran under pids.max=1"
assert_grep "$TEST_TMP/pids1.out.err" 'cannot start (thread|vCPU)' "femtovm's reason under pids.max=1"
assert_not_grep "$TEST_TMP/pids1.out" 'hello: idle' "guest ran under pids.max=1"
assert_eq max "$(cat "$PIDS_MNT/$CG/pids.max")" "parent cgroup left at its default"
info "ok pids.max=1 stops femtovm (exit $RC)"

# 3. --new-pid-ns + --daemonize; a core-only v2 key selects cgroup v2.
ID=vm-pidns
ROOT=$(prepare_jail $ID)
v2=()
if [ -n "$V2_MNT" ]; then v2=(--cgroup cgroup.max.descendants=0 --parent-cgroup "$CG"); fi
jailer $ID "$TEST_TMP/pidns.out" --new-pid-ns --daemonize "${v2[@]}"
assert_exit 0 "$RC" "jailer with --new-pid-ns (the parent exits 0)"
[ -s "$ROOT/femtovm.pid" ] || fail "no pid file $ROOT/femtovm.pid"
pid=$(cat "$ROOT/femtovm.pid")
KILL_PIDS+=("$pid")
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail "jailed femtovm (pid $pid) is not running"
check_jailed "$pid" "$ROOT"
[ "$(status "$pid" NSpid | awk '{ print $NF }')" = 1 ] || fail "not pid 1 in its namespace: $(status "$pid" NSpid)"
[ "$(readlink /proc/"$pid"/ns/pid)" != "$(readlink /proc/$$/ns/pid)" ] || fail "same pid ns"
assert_eq "$pid" "$(ps -o sid= -p "$pid" | tr -d ' ')" "session id (setsid)"
for fd in 0 1 2; do
    assert_eq /dev/null "$(readlink /proc/"$pid"/fd/$fd)" "fd $fd after --daemonize"
done
[ ! -s "$TEST_TMP/pidns.out" ] || fail "output on the jailer's stdout despite --daemonize"
if [ -n "$V2_MNT" ]; then
    grep -qx "0::/$CG/$ID" /proc/"$pid"/cgroup || { cat /proc/"$pid"/cgroup; fail "not in the v2 cgroup"; }
    assert_eq 0 "$(cat "$V2_MNT/$CG/$ID/cgroup.max.descendants")" "v2 value written"
    info "ok cgroup v2 detected and joined ($V2_MNT/$CG/$ID)"
fi
kill -TERM "$pid"
for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
! kill -0 "$pid" 2>/dev/null || fail "pid-1 femtovm ignored SIGTERM"
info "ok --new-pid-ns (pid $pid is 1 inside) and --daemonize"

# 4. Every failure stops before exec, names its step, exit 2 (arguments)
# or 1 (setup), and the guest never starts.
expect_fail() {  # expect_fail RC STEP-REGEX jailer-args...
    local want=$1 pat=$2 rc=0
    shift 2
    timeout 10 "$JAILER" "$@" >"$TEST_TMP/f.out" 2>"$TEST_TMP/f.err" </dev/null || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$TEST_TMP/f.err"; fail "$*: exit $rc, expected $want"; }
    grep -qE -- "^femtovm-jailer: $pat" "$TEST_TMP/f.err" || { cat "$TEST_TMP/f.err"; fail "$*: stderr lacks /$pat/"; }
    [ ! -s "$TEST_TMP/f.out" ] || fail "$*: output although it failed"
}
ok=(--uid "$JUID" --gid "$JGID" --chroot-base-dir "$BASE")
expect_fail 2 'exec-file: .*No such file' --id x --exec-file "$TEST_TMP/none" "${ok[@]}"
expect_fail 2 'exec-file: .*not executable' --id x --exec-file "$ROOT/config.json" "${ok[@]}"
expect_fail 2 'id: ' --id 'bad_id' --exec-file "$FEMTOVM" "${ok[@]}"
expect_fail 2 'id: --id is required' --exec-file "$FEMTOVM" "${ok[@]}"
expect_fail 2 'uid: ' --id x --exec-file "$FEMTOVM" --uid -1 --gid 1
expect_fail 2 'netns: .*No such file' --id x --exec-file "$FEMTOVM" "${ok[@]}" --netns /var/run/netns/none-$$
expect_fail 2 'cgroup: ' --id x --exec-file "$FEMTOVM" "${ok[@]}" --cgroup pids/max=1
expect_fail 2 'resource-limit: ' --id x --exec-file "$FEMTOVM" "${ok[@]}" --resource-limit cpu=1
expect_fail 2 'chroot-base-dir: ' --id x --exec-file "$FEMTOVM" --uid 1 --gid 1 --chroot-base-dir rel
expect_fail 2 'args: unexpected argument' --id x --exec-file "$FEMTOVM" "${ok[@]}" stray
expect_fail 1 'cgroup: .*no cgroup v1 hierarchy' --id vm-f1 --exec-file "$FEMTOVM" "${ok[@]}" \
    --cgroup-version 1 --cgroup nosuchctl.max=1 --parent-cgroup "$CG"
if [ -n "$V2_MNT" ] && ! grep -qw pids "$V2_MNT/cgroup.controllers"; then
    # Checked read-only against the root's cgroup.controllers, before any write.
    expect_fail 1 "cgroup: .*'pids' is not available" --id vm-f2 --exec-file "$FEMTOVM" \
        "${ok[@]}" --cgroup-version 2 --cgroup pids.max=5 --parent-cgroup "$CG"
    [ ! -d "$V2_MNT/$CG/vm-f2" ] || fail "v2 cgroup created although the controller is missing"
fi
# A dynamically linked binary without its libraries in the jail cannot be exec'd.
cp "$(type -P true)" "$TEST_TMP/true"
expect_fail 1 'exec: /true: No such file' --id vm-f3 --exec-file "$TEST_TMP/true" "${ok[@]}"
"$JAILER" --help | grep -q '^Exit codes' || fail "--help lacks exit codes"
"$JAILER" --version | grep -qE '^femtovm-jailer [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
info "ok failure modes name their step"
