#!/usr/bin/env bash
# timeout: 120
# virtio-blk end to end (DESIGN.md §5) with the blk test guest, a driver
# written from virtio 1.2 (§3.1 initialisation, §4.2 virtio-mmio, §2.7
# split rings with EVENT_IDX and indirect tables, §5.2 block requests),
# completions by interrupt through the IOAPIC. Drives come from the config
# file; what the guest writes must be on disk afterwards, what the host
# prepared must be what the guest reads, read-only files stay unchanged, and
# a rate-limited drive is measurably slower.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_kvm
require_femtovm
ELF=$(require_guest blk.elf)
PVH=$(require_guest blk-pvh.elf)

# fill FILE SECTOR COUNT BYTE: COUNT sectors of BYTE at SECTOR.
fill() {
    head -c $((512 * $3)) /dev/zero | tr '\0' "$(printf '\\%03o' "$4")" |
        dd of="$1" bs=512 seek="$2" conv=notrunc status=none
}
# multi_expect FILE SECTOR: what the guest's 64 KiB write leaves there
# (sector k of it filled with 0x40 + k).
multi_expect() {
    local k
    for k in $(seq 0 127); do fill "$1" $(($2 + k)) 1 $((0x40 + k)); done
}
# drives_config OUT KERNEL ARGS DRIVE-JSON...: config with these drives.
drives_config() {
    local out=$1 kernel=$2 args=$3 d sep=''
    shift 3
    {
        printf '{"boot-source":{"kernel_image_path":%s,"boot_args":%s},\n' \
            "$(json_str "$kernel")" "$(json_str "$args")"
        printf ' "machine-config":{"vcpu_count":1,"mem_size_mib":128},\n "drives":['
        for d in "$@"; do printf '%s\n  %s' "$sep" "$d"; sep=','; done
        printf ']}\n'
    } >"$out"
}
drive() {  # drive ID PATH ROOT RO [RATE-LIMITER-JSON]
    printf '{"drive_id":"%s","path_on_host":%s,"is_root_device":%s,"is_read_only":%s%s}' \
        "$1" "$(json_str "$2")" "$3" "$4" "${5:+,\"rate_limiter\":$5}"
}
# expect_lines OUT LINE...: every LINE is a whole line of OUT.
expect_lines() {
    local out=$1 l
    shift
    for l in "$@"; do
        grep -qxF -- "$l" "$out" || { show_outputs "$out"; fail "no line '$l'"; }
    done
}
check_done() {  # check_done OUT: exit 0, "blk: done" last, no FAIL/timeout
    local out=$1
    if [ "$FVM_RC" -ne 0 ] || [ "$(tail -n 1 "$out")" != "blk: done" ]; then
        show_outputs "$out"
        fail "$out: exit $FVM_RC, expected 0 after 'blk: done'"
    fi
    assert_not_grep "$out" 'FAIL|timeout|mismatch|needs reset|exception' "$out: guest reported a failure"
}

# 1. One root drive, 1 MiB, sectors 5 and 6 prepared by the host.
img=$TEST_TMP/root.img
head -c 1048576 /dev/zero >"$img"
fill "$img" 5 1 0xab
fill "$img" 6 1 0x3c
cp "$img" "$TEST_TMP/root.want"
for kernel in "$ELF" "$PVH"; do
    tag=$(basename "$kernel" .elf)
    cfg=$TEST_TMP/one-$tag.json
    out=$TEST_TMP/one-$tag.out
    cp "$TEST_TMP/root.want" "$img"
    drives_config "$cfg" "$kernel" \
        "console=ttyS0 blk.readcheck=5:0xab,6:0x3c blk.write=7:0x5c,8:0x11 blk.multi=256" \
        "$(drive rootfs "$img" true false)"
    femtovm_run_config "$cfg" 20 "$out"
    check_done "$out"
    assert_grep "$out" '^blk: cmdline=.* virtio_mmio\.device=4K@0xd0000000:5 root=/dev/vda rw$' \
        "command line lacks the device and root=/dev/vda rw"
    expect_lines "$out" 'blk: devices=1' 'blk: capacity=2048' 'blk: ro=0' 'blk: id=rootfs' \
        'blk: read sector 5 ok' 'blk: read sector 6 ok' \
        'blk: write sector 7 ok' 'blk: read sector 7 ok' \
        'blk: write sector 8 ok' 'blk: read sector 8 ok' \
        'blk: write 64k at sector 256 segs=16 ok' 'blk: read 64k at sector 256 segs=16 ok' \
        'blk: flush ok' 'blk: read past end status=1' 'blk: unsupported type status=2'
    # VERSION_1, SEG_MAX, BLK_SIZE, FLUSH, EVENT_IDX; no RO, no INDIRECT_DESC.
    expect_lines "$out" 'blk: features=0x120000244 qsize=256 seg_max=254 blk_size=512'
    assert_not_grep "$out" '^blk: write on read-only' "$tag: read-only check on a writable drive"
    irqs=$(sed -n 's/^blk: irqs=\([0-9]*\)$/\1/p' "$out")
    [ "${irqs:-0}" -ge 10 ] || fail "$tag: only ${irqs:-0} interrupts for 11 requests"
    # The disk holds exactly what the guest wrote, nothing else changed.
    cp "$TEST_TMP/root.want" "$TEST_TMP/expect.img"
    fill "$TEST_TMP/expect.img" 7 1 0x5c
    fill "$TEST_TMP/expect.img" 8 1 0x11
    multi_expect "$TEST_TMP/expect.img" 256
    cmp "$img" "$TEST_TMP/expect.img" || fail "$tag: disk contents differ from what the guest wrote"
    info "ok single drive ($tag, ${irqs} interrupts)"
done

# 2. Three drives (root rw, read-only, rate-limited), indirect descriptors,
#    queue size 16 (so the 64 KiB request goes in 8 segments).
cp "$TEST_TMP/root.want" "$img"
ro=$TEST_TMP/ro.img
head -c 1048576 /dev/zero >"$ro"
fill "$ro" 3 1 0x77
ro_sum=$(md5sum <"$ro")
lim=$TEST_TMP/lim.img
head -c 524288 /dev/zero >"$lim"
cfg=$TEST_TMP/three.json
out=$TEST_TMP/three.out
drives_config "$cfg" "$PVH" \
    "console=ttyS0 indirect blk.qsize=16 blk0.write=9:0x21 blk0.multi=100 blk0.ops=20 blk1.readcheck=3:0x77 blk1.write=4:0x99 blk2.ops=20" \
    "$(drive rootfs "$img" true false)" "$(drive data_ro "$ro" false true)" \
    "$(drive limited "$lim" false false '{"ops":{"size":5,"refill_time":100}}')"
t0=$(date +%s%N)
femtovm_run_config "$cfg" 30 "$out"
ms=$((($(date +%s%N) - t0) / 1000000))
check_done "$out"
assert_grep "$out" '^blk: cmdline=.*4K@0xd0000000:5 virtio_mmio\.device=4K@0xd0001000:6 virtio_mmio\.device=4K@0xd0002000:7 root=/dev/vda rw$' \
    "command line lacks the three devices or root=/dev/vda rw"
expect_lines "$out" 'blk: devices=3' \
    'blk0: capacity=2048' 'blk0: ro=0' 'blk0: id=rootfs' \
    'blk0: features=0x130000244 qsize=16 seg_max=254 blk_size=512' \
    'blk0: write sector 9 ok' 'blk0: read sector 9 ok' \
    'blk0: write 64k at sector 100 segs=8 ok' 'blk0: read 64k at sector 100 segs=8 ok' \
    'blk0: flush ok' 'blk0: read past end status=1' 'blk0: unsupported type status=2' \
    'blk1: capacity=2048' 'blk1: ro=1' 'blk1: id=data_ro' \
    'blk1: features=0x130000264 qsize=16 seg_max=254 blk_size=512' \
    'blk1: read sector 3 ok' 'blk1: write sector 4 status=1' \
    'blk1: flush ok' 'blk1: read past end status=1' 'blk1: write on read-only status=1' \
    'blk1: unsupported type status=2' \
    'blk2: capacity=1024' 'blk2: ro=0' 'blk2: id=limited' \
    'blk2: flush ok' 'blk2: read past end status=1' 'blk2: unsupported type status=2'
[ "$(md5sum <"$ro")" = "$ro_sum" ] || fail "read-only drive file changed"
cp "$TEST_TMP/root.want" "$TEST_TMP/expect.img"
fill "$TEST_TMP/expect.img" 9 1 0x21
multi_expect "$TEST_TMP/expect.img" 100
cmp "$img" "$TEST_TMP/expect.img" || fail "root drive contents differ from what the guest wrote"
cmp "$lim" <(head -c 524288 /dev/zero) || fail "limited drive changed (the guest only read it)"
# Rate limiter: 5-op bucket refilled every 100 ms = 50 ops/s. The 20 reads
# need at least 15 refills (~300 ms); the same burst unlimited is quick.
fast=$(sed -n 's/^blk0: 20 reads in \([0-9]*\) ms errors=0$/\1/p' "$out")
slow=$(sed -n 's/^blk2: 20 reads in \([0-9]*\) ms errors=0$/\1/p' "$out")
[ -n "$fast" ] && [ -n "$slow" ] || { show_outputs "$out"; fail "burst lines missing"; }
info "20 reads: unlimited ${fast} ms, limited ${slow} ms (guest PIT time); run ${ms} ms wall"
[ "$slow" -ge 240 ] || fail "rate-limited drive: 20 reads took ${slow} ms, expected >= ~300"
[ "$slow" -le 3000 ] || fail "rate-limited drive: 20 reads took ${slow} ms (limiter stalls?)"
[ "$fast" -lt 200 ] || fail "unlimited drive: 20 reads took ${fast} ms"
[ "$ms" -ge 240 ] || fail "whole run took only ${ms} ms wall clock with a rate-limited burst"
info "ok three drives (rw, read-only, rate-limited), indirect, queue size 16"

# 3. Read-only root: root=/dev/vda ro, writes refused, file unchanged.
cfg=$TEST_TMP/roroot.json
out=$TEST_TMP/roroot.out
drives_config "$cfg" "$ELF" "console=ttyS0 blk.readcheck=3:0x77 blk.write=3:0x00" \
    "$(drive rootfs "$ro" true true)"
femtovm_run_config "$cfg" 20 "$out"
check_done "$out"
assert_grep "$out" '^blk: cmdline=.* root=/dev/vda ro$' "read-only root: no root=/dev/vda ro"
expect_lines "$out" 'blk: ro=1' 'blk: read sector 3 ok' 'blk: write sector 3 status=1' \
    'blk: write on read-only status=1'
[ "$(md5sum <"$ro")" = "$ro_sum" ] || fail "read-only root file changed"
info "ok read-only root"
