#!/usr/bin/env bash
# Snapshot family (called by bench/run.sh with its temp dir): Full snapshot
# create + restore of the count guest at 128 MiB, 1 GiB and 4 GiB (1 vCPU),
# femtovm through the API; 20 clones of the 128 MiB snapshot vs 20 cold
# boots (summed PSS); QEMU microvm migrate to a file / -incoming as the peer.
# Writes TMP/snap_femtovm_<MiB>.out and TMP/snap_qemu_128.out.
# Env: BENCH_SNAP_RUNS (restores per size, default 20), BENCH_SNAP_RUNS_4G
#      (default 20), BENCH_SNAP_CLONES (default 20), BENCH_SNAP_DIR
#      (snapshot files, default /var/tmp), QEMU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=${1:?usage: bench/snapshot.sh TMPDIR}
runs=${BENCH_SNAP_RUNS:-20}
runs4g=${BENCH_SNAP_RUNS_4G:-20}
clones=${BENCH_SNAP_CLONES:-20}
dir=${BENCH_SNAP_DIR:-/var/tmp}
qemu=${QEMU:-qemu-system-x86_64}
snap=$root/build/bench/snapshot
args="console=ttyS0 period_ms=10"
[ -x "$snap" ] || { echo "bench: missing $snap (make bench-tools)" >&2; exit 1; }

for m in 128 1024 4096; do
    n=$runs c=0
    [ "$m" != 4096 ] || n=$runs4g
    [ "$m" != 128 ] || c=$clones
    echo "bench: snapshot femtovm ${m} MiB ($n restores${c:+, $c clones})" >&2
    "$snap" -n "$n" -m "$m" -C "$c" -a "$args" -d "$dir" -e "$tmp/snap_femtovm_$m.stderr" \
        -k "$root/build/guest/count.elf" -- "$root/build/femtovm" >"$tmp/snap_femtovm_$m.out" ||
        { tail -n 5 "$tmp/snap_femtovm_$m.stderr" >&2; rm -f "$tmp/snap_femtovm_$m.out"; echo "bench: snapshot femtovm $m MiB failed" >&2; }
done
if command -v "$qemu" >/dev/null; then
    echo "bench: snapshot qemu-microvm 128 MiB (migrate to file, $runs -incoming restores)" >&2
    "$snap" -Q -n "$runs" -d "$dir" -e "$tmp/snap_qemu_128.stderr" -- "$qemu" -M microvm,isa-serial=on \
        -accel kvm -nodefaults -no-user-config -display none -serial stdio -m 128 \
        -kernel "$root/build/guest/count-pvh.elf" -append "$args" >"$tmp/snap_qemu_128.out" ||
        { tail -n 5 "$tmp/snap_qemu_128.stderr" >&2; rm -f "$tmp/snap_qemu_128.out"; echo "bench: snapshot qemu restore FAILED, no QEMU snapshot rows" >&2; }
fi
