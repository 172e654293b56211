#!/usr/bin/env bash
# Block benchmark (issue 3): the perf/blkbench guest (hot loop in ring 3)
# on femtovm and on QEMU microvm's virtio-blk-device, same drive file, same
# runs, one after the other; then the same I/O pattern straight on the file
# from the host (bench/blkhost, one thread, pread/pwrite). See
# bench/README.md. Writes KEY value=V lines to OUTDIR/blk_{femtovm,qemu,host}.out.
# Usage: bench/blk.sh OUTDIR      (run.sh calls it; needs root for /dev/kvm)
# Env: BENCH_BLK_MS (per run, default 2000), BENCH_BLK_RUNS (blkbench.runs,
#      default randread:1,randread:16,randread:32,read:16,write:16),
#      BENCH_BLK_IRQ_RUNS (interrupt-driven runs, default randread:1,randread:32;
#      empty = none), BENCH_BLK_FILE (default /var/tmp/femtovm-bench-blk.img,
#      256 MiB, created and removed here), QEMU.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: blk.sh OUTDIR}
ms=${BENCH_BLK_MS:-2000}
runs=${BENCH_BLK_RUNS:-randread:1,randread:16,randread:32,read:16,write:16}
irq_runs=${BENCH_BLK_IRQ_RUNS-randread:1,randread:32}
img=${BENCH_BLK_FILE:-/var/tmp/femtovm-bench-blk.img}
qemu=${QEMU:-qemu-system-x86_64}
femtovm=$root/build/femtovm
devrun=$root/build/bench/devrun
blkhost=$root/build/bench/blkhost
guest=$root/build/guest/perf/blkbench.elf
guest_pvh=$root/build/guest/perf/blkbench-pvh.elf
for f in "$femtovm" "$devrun" "$blkhost" "$guest" "$guest_pvh"; do
    [ -e "$f" ] || { echo "blk.sh: missing $f (make all bench-tools)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$img"' EXIT

# 256 MiB of random data on disk (not tmpfs), read once so that every
# contender finds it in the page cache (dropping caches is not allowed here).
echo "bench: blk: drive $img (256 MiB)" >&2
dd if=/dev/urandom of="$img" bs=1M count=256 status=none
cat "$img" >/dev/null

cfg() {	# cfg ARGS: femtovm config with the drive
    printf '{"boot-source":{"kernel_image_path":"%s","boot_args":"console=ttyS0 %s"},"machine-config":{"vcpu_count":1,"mem_size_mib":128},"drives":[{"drive_id":"bench","path_on_host":"%s","is_root_device":false,"is_read_only":false}]}\n' \
        "$guest" "$1" "$img" >"$tmp/cfg.json"
}
# QEMU microvm: acpi=off so that QEMU appends virtio_mmio.device= to the
# command line (with ACPI it describes the device in the DSDT only), and
# force-legacy=false for the virtio 1.x register layout (QEMU's virtio-mmio
# default is the legacy version 1). -no-reboot + reset=triple end the run.
qemu_run() {	# qemu_run ARGS
    "$devrun" -t 120 -- "$qemu" -M microvm,isa-serial=on,acpi=off -accel kvm -nodefaults \
        -no-user-config -display none -serial stdio -m 128 -no-reboot \
        -global virtio-mmio.force-legacy=false -kernel "$guest_pvh" \
        -append "console=ttyS0 reset=triple $1" \
        -drive "id=d0,file=$img,format=raw,if=none" -device virtio-blk-device,drive=d0 2>"$tmp/qemu.err"
}
fvm_run() {	# fvm_run ARGS
    cfg "$1"
    "$devrun" -t 120 -- "$femtovm" --no-api --config-file "$tmp/cfg.json" 2>"$tmp/fvm.err"
}
check() {	# check LOG WHO
    grep -q '^blkbench: done' "$1" && ! grep -q 'FAIL\|exception' "$1" ||
        { cat "$1" >&2; echo "blk.sh: $2 run failed" >&2; exit 1; }
}

echo "bench: blk: femtovm ($runs, ${ms} ms each; interrupts: ${irq_runs:-none})" >&2
fvm_run "blkbench.ms=$ms blkbench.runs=$runs" >"$tmp/fvm.log"
check "$tmp/fvm.log" femtovm
awk -v prefix=blk_ -f "$root/bench/devparse.awk" "$tmp/fvm.log" >"$out/blk_femtovm.out"
if [ -n "$irq_runs" ]; then
    fvm_run "blkbench.ms=$((ms / 2)) blkbench.irq blkbench.runs=$irq_runs" >"$tmp/fvm_irq.log"
    check "$tmp/fvm_irq.log" "femtovm (irq)"
    awk -v prefix=blk_irq_ -f "$root/bench/devparse.awk" "$tmp/fvm_irq.log" >>"$out/blk_femtovm.out"
fi
if command -v "$qemu" >/dev/null; then
    echo "bench: blk: qemu-microvm (same runs)" >&2
    qemu_run "blkbench.ms=$ms blkbench.runs=$runs" >"$tmp/qemu.log"
    check "$tmp/qemu.log" qemu
    awk -v prefix=blk_ -f "$root/bench/devparse.awk" "$tmp/qemu.log" >"$out/blk_qemu.out"
    if [ -n "$irq_runs" ]; then
        qemu_run "blkbench.ms=$((ms / 2)) blkbench.irq blkbench.runs=$irq_runs" >"$tmp/qemu_irq.log"
        check "$tmp/qemu_irq.log" "qemu (irq)"
        awk -v prefix=blk_irq_ -f "$root/bench/devparse.awk" "$tmp/qemu_irq.log" >>"$out/blk_qemu.out"
    fi
fi
echo "bench: blk: host pread/pwrite on the file (1 thread)" >&2
: >"$out/blk_host.out"
for m in randread:4096 read:65536 write:65536; do
    "$blkhost" -f "$img" -m "${m%%:*}" -b "${m#*:}" -t $((ms / 2)) >"$tmp/host.log"
    awk '{ split($0, w, " "); key = "blk_" w[2] ($0 ~ /bs=4096 / ? "4k" : "64k") "_host";
           for (i = 3; i <= NF; i++) if (split($i, p, "=") == 2 && p[1] != "qd" && p[1] != "bs")
               printf "%s_%s value=%s n=1\n", key, p[1], p[2] }' "$tmp/host.log" >>"$out/blk_host.out"
done
cat "$tmp"/fvm.log "$tmp"/qemu.log 2>/dev/null | grep -E '^blkbench: (randread|read|write|randwrite) ' | sed 's/ |.*//' >&2 || true
