#!/usr/bin/env bash
# timeout: 60
# The command line and the config file: --help/--version, and every kind of
# bad input is rejected before the guest starts, with exit code 2 (usage) or
# 1 (cannot start) and a message naming the field or the problem.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_femtovm
hello=$(require_guest hello.elf)

# expect_reject RC PATTERN CONFIG-JSON [extra args]: femtovm exits RC, stderr
# matches PATTERN, and the guest printed nothing (it never started).
expect_reject() {
    local want=$1 pat=$2 json=$3 rc=0
    shift 3
    printf '%s' "$json" >"$TEST_TMP/c.json"
    timeout 10 "$FEMTOVM" --no-api --config-file "$TEST_TMP/c.json" "$@" \
        >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$TEST_TMP/err"; fail "config $json: exit $rc, expected $want"; }
    grep -qE -- "$pat" "$TEST_TMP/err" || { cat "$TEST_TMP/err"; fail "config $json: stderr lacks /$pat/"; }
    [ ! -s "$TEST_TMP/out" ] || fail "config $json: guest output although rejected"
}

# --help and --version tell the truth and exit 0.
"$FEMTOVM" --help >"$TEST_TMP/help"
assert_grep "$TEST_TMP/help" '^Usage: femtovm'
assert_grep "$TEST_TMP/help" 'Exit codes:'
for opt in --config-file --no-api --api-sock --id --log-path --level --boot-timer --no-seccomp --version; do
    assert_grep_fixed "$TEST_TMP/help" "$opt"
done
"$FEMTOVM" --version | grep -qE '^femtovm [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version output"

# Command-line errors: exit 2.
rc=0; "$FEMTOVM" --bogus >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_exit 2 "$rc" "unknown option"; assert_grep "$TEST_TMP/err" "unknown or incomplete option '--bogus'"
rc=0; "$FEMTOVM" --no-api >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_exit 2 "$rc" "--no-api alone"; assert_grep "$TEST_TMP/err" 'needs --config-file'
rc=0; "$FEMTOVM" --no-api --api-sock /tmp/x.sock --config-file x >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_exit 2 "$rc" "--no-api with --api-sock"; assert_grep "$TEST_TMP/err" 'contradict'
rc=0; "$FEMTOVM" --no-api --config-file x --http-api-max-payload-size 0 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_exit 2 "$rc" "payload size 0"; assert_grep "$TEST_TMP/err" 'max-payload-size: must be'
rc=0; "$FEMTOVM" --no-api --config-file x --id 'bad id!' >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_exit 2 "$rc" "bad --id"; assert_grep "$TEST_TMP/err" -- '--id: must be'
rc=0; "$FEMTOVM" --no-api --config-file "$TEST_TMP/missing.json" >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_exit 2 "$rc" "missing config file"; assert_grep "$TEST_TMP/err" 'missing.json: No such file'

ok_boot='"boot-source":{"kernel_image_path":"'"$hello"'"}'
expect_reject 2 'invalid JSON' '{"boot-source": '
expect_reject 2 'must be a JSON object' '[1,2]'
expect_reject 2 'boot-source: missing' '{"machine-config":{"vcpu_count":1,"mem_size_mib":64}}'
expect_reject 2 'unknown top-level field "bogus"' "{$ok_boot,\"bogus\":1}"
expect_reject 2 'boot-source: unknown field "kernel"' '{"boot-source":{"kernel":"x"}}'
expect_reject 2 'boot-source.kernel_image_path: missing required field' '{"boot-source":{}}'
expect_reject 2 'boot-source.kernel_image_path: must be a string' '{"boot-source":{"kernel_image_path":5}}'
expect_reject 2 'boot-source.kernel_image_path: must not be empty' '{"boot-source":{"kernel_image_path":""}}'
expect_reject 2 'boot-source.kernel_image_path: .*No such file' '{"boot-source":{"kernel_image_path":"/nonexistent/vmlinux"}}'
expect_reject 2 'boot-source.kernel_image_path: /tmp is not a regular file' '{"boot-source":{"kernel_image_path":"/tmp"}}'
expect_reject 2 'boot-source.initrd_path: .*No such file' '{"boot-source":{"kernel_image_path":"'"$hello"'","initrd_path":"/nonexistent"}}'
expect_reject 2 'boot-source.boot_args: must be a string' '{"boot-source":{"kernel_image_path":"'"$hello"'","boot_args":[]}}'
expect_reject 2 'machine-config.vcpu_count: must be an integer from 1 to 32' "{$ok_boot,\"machine-config\":{\"vcpu_count\":0,\"mem_size_mib\":64}}"
expect_reject 2 'machine-config.vcpu_count: must be an integer from 1 to 32' "{$ok_boot,\"machine-config\":{\"vcpu_count\":33,\"mem_size_mib\":64}}"
expect_reject 2 'machine-config.vcpu_count: must be an integer' "{$ok_boot,\"machine-config\":{\"vcpu_count\":1.5,\"mem_size_mib\":64}}"
expect_reject 2 'machine-config.vcpu_count: must be an integer' "{$ok_boot,\"machine-config\":{\"vcpu_count\":\"2\",\"mem_size_mib\":64}}"
expect_reject 2 'machine-config.mem_size_mib: must be an integer from 1' "{$ok_boot,\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":0}}"
expect_reject 2 'machine-config.mem_size_mib: missing required field' "{$ok_boot,\"machine-config\":{\"vcpu_count\":1}}"
expect_reject 2 'machine-config.smt: must be true or false' "{$ok_boot,\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":64,\"smt\":1}}"
expect_reject 2 'machine-config.vcpu_count: must be 1 or even when smt is true' "{$ok_boot,\"machine-config\":{\"vcpu_count\":3,\"mem_size_mib\":64,\"smt\":true}}"
expect_reject 2 'machine-config: unknown field "cpu_template"' "{$ok_boot,\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":64,\"cpu_template\":\"T2\"}}"
expect_reject 2 'boot-source: given more than once' "{$ok_boot,$ok_boot}"
expect_reject 2 'balloon: this femtovm build does not provide' "{$ok_boot,\"balloon\":{\"amount_mib\":1}}"
expect_reject 2 'vsock.guest_cid: must be an integer from 3' "{$ok_boot,\"vsock\":{\"guest_cid\":2,\"uds_path\":\"/tmp/v.sock\"}}"
expect_reject 2 'vsock.uds_path: missing required field' "{$ok_boot,\"vsock\":{\"guest_cid\":3}}"
net() { printf '{%s,"network-interfaces":[%s]}' "$ok_boot" "$1"; }
expect_reject 2 'network-interfaces\[0\].host_dev_name: missing required field' "$(net '{"iface_id":"eth0"}')"
expect_reject 2 'network-interfaces\[0\].guest_mac: must look like' "$(net '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:ac:10:00"}')"
expect_reject 2 'network-interfaces\[0\].host_dev_name: must be an interface name' "$(net '{"iface_id":"eth0","host_dev_name":"a-very-long-interface-name"}')"
expect_reject 2 'network-interfaces\[0\].iface_id: must be 1-64' "$(net '{"iface_id":"eth 0","host_dev_name":"tap0"}')"
expect_reject 2 'share an id, a host device or a MAC' "$(net '{"iface_id":"eth0","host_dev_name":"tap0"},{"iface_id":"eth1","host_dev_name":"tap0"}')"
expect_reject 2 'network-interfaces\[0\].rx_rate_limiter.bandwidth.size: must be an integer' "$(net '{"iface_id":"eth0","host_dev_name":"tap0","rx_rate_limiter":{"bandwidth":{"size":"x","refill_time":1}}}')"
expect_reject 1 'tap nosuchtap0: cannot attach' "$(net '{"iface_id":"eth0","host_dev_name":"nosuchtap0"}')"

# Drives: every field validated, files checked before boot.
head -c 1048576 /dev/zero >"$TEST_TMP/disk.img"
head -c 1000 /dev/zero >"$TEST_TMP/odd.img"
drv() { printf '{%s,"drives":[%s]}' "$ok_boot" "$1"; }
d_ok='"drive_id":"root","path_on_host":"'"$TEST_TMP/disk.img"'","is_root_device":true'
expect_reject 2 'drives: must be an array' "{$ok_boot,\"drives\":{}}"
expect_reject 2 'drives\[0\].path_on_host: missing required field' "$(drv '{"drive_id":"rootfs","is_root_device":true}')"
expect_reject 2 'drives\[0\].is_root_device: missing required field' "$(drv '{"drive_id":"a","path_on_host":"/x"}')"
expect_reject 2 'drives\[0\].drive_id: must be 1-64 characters' "$(drv '{"drive_id":"bad id","path_on_host":"/x","is_root_device":false}')"
expect_reject 2 'drives\[0\]: unknown field "socket"' "$(drv "{$d_ok,\"socket\":\"/x\"}")"
expect_reject 2 'drives\[0\].io_engine: must be one of "Sync"' "$(drv "{$d_ok,\"io_engine\":\"Async\"}")"
expect_reject 2 'drives\[0\].rate_limiter.bandwidth.refill_time: missing required field' \
    "$(drv "{$d_ok,\"rate_limiter\":{\"bandwidth\":{\"size\":1000}}}")"
expect_reject 2 'drives\[0\].rate_limiter.ops.size: must be an integer' \
    "$(drv "{$d_ok,\"rate_limiter\":{\"ops\":{\"size\":-1,\"refill_time\":100}}}")"
d_ok2='"drive_id":"root","path_on_host":"'"$TEST_TMP/disk.img"'","is_root_device":false'
expect_reject 2 'drive_id "root" is used twice' "$(drv "{$d_ok},{$d_ok2}")"
expect_reject 2 'are both root devices' "$(drv "{$d_ok},{\"drive_id\":\"b\",\"path_on_host\":\"$TEST_TMP/disk.img\",\"is_root_device\":true}")"
expect_reject 2 'drives\[root\].path_on_host: .*No such file' "$(drv '{"drive_id":"root","path_on_host":"/nonexistent.img","is_root_device":true}')"
expect_reject 2 'is 1000 bytes; a drive must be a non-zero multiple of 512 bytes' \
    "$(drv "{\"drive_id\":\"odd\",\"path_on_host\":\"$TEST_TMP/odd.img\",\"is_root_device\":false}")"
expect_reject 2 'logger.level: must be one of' "{$ok_boot,\"logger\":{\"log_path\":\"/tmp/x\",\"level\":\"Loud\"}}"

# Files that exist but cannot be booted: exit 1, guest never runs.
head -c 4096 /dev/urandom >"$TEST_TMP/garbage"
expect_reject 1 'kernel: image is neither an ELF file nor a bzImage' \
    '{"boot-source":{"kernel_image_path":"'"$TEST_TMP/garbage"'"}}'
head -c 100 "$hello" >"$TEST_TMP/trunc.elf"
expect_reject 1 'kernel: ELF' '{"boot-source":{"kernel_image_path":"'"$TEST_TMP/trunc.elf"'"}}'
long=$(printf 'x%.0s' $(seq 1 2100))
expect_reject 1 'boot_args: longer than the kernel.s limit of 2047 bytes' \
    '{"boot-source":{"kernel_image_path":"'"$hello"'","boot_args":"'"$long"'"}}'

# Empty device sections, null vsock and the logger are accepted; the log
# goes to the logger's file at the requested level.
printf '%s' "{$ok_boot,\"drives\":[],\"network-interfaces\":[],\"vsock\":null,\"logger\":{\"log_path\":\"$TEST_TMP/fvm.log\",\"level\":\"Debug\"},\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":64}}" >"$TEST_TMP/ok.json"
rc=0; timeout 10 "$FEMTOVM" --no-api --config-file "$TEST_TMP/ok.json" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
assert_exit 0 "$rc" "valid config with logger"
assert_grep "$TEST_TMP/out" '^hello: bye$'
assert_grep "$TEST_TMP/fvm.log" 'Debug\] kernel command line: console=ttyS0 reboot=k panic=1 pci=off'
assert_grep "$TEST_TMP/fvm.log" 'guest reset via i8042'
[ ! -s "$TEST_TMP/err" ] || fail "log lines went to stderr despite the logger: $(cat "$TEST_TMP/err")"

# With no boot_args at all, the documented defaults are used.
assert_grep "$TEST_TMP/out" '^hello: cmdline=console=ttyS0 reboot=k panic=1 pci=off$'
echo "cli and config checks passed"
