#!/usr/bin/env bash
# Snapshot family (called by bench/run.sh with its temp dir): Full snapshot
# create + restore of the count guest at 128 MiB, 1 GiB and 4 GiB (1 vCPU),
# femtovm through the API; clone memory: a snapshot of the memtouch guest
# (128 MiB, BENCH_SNAP_TOUCH_MIB written), BENCH_SNAP_CLONES clones of it
# restored at once by build/femtovm-fanout vs as many cold boots (summed
# Rss/Pss/Private); QEMU microvm migrate to a file / -incoming as the peer.
# The restores are repeated into monitors started with --prepare-mem-mib.
# Writes TMP/snap_femtovm_<MiB>.out (the clone and cold-boot rows go to
# the 128 MiB one), TMP/snap_prepared_<MiB>.out and TMP/snap_qemu_128.out.
# Env: BENCH_SNAP_RUNS (restores per size, default 20), BENCH_SNAP_RUNS_4G
#      (default 20), BENCH_SNAP_CLONES (default 20; 0 skips the clones),
#      BENCH_SNAP_TOUCH_MIB (memtouch working set, default 64),
#      BENCH_SNAP_DIR (snapshot files, default /var/tmp), QEMU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=${1:?usage: bench/snapshot.sh TMPDIR}
runs=${BENCH_SNAP_RUNS:-20}
runs4g=${BENCH_SNAP_RUNS_4G:-20}
clones=${BENCH_SNAP_CLONES:-20}
touch_mib=${BENCH_SNAP_TOUCH_MIB:-64}
dir=${BENCH_SNAP_DIR:-/var/tmp}
qemu=${QEMU:-qemu-system-x86_64}
snap=$root/build/bench/snapshot
fanout=$root/build/femtovm-fanout
femtovm=$root/build/femtovm
args="console=ttyS0 period_ms=10"
[ -x "$snap" ] || { echo "bench: missing $snap (make bench-tools)" >&2; exit 1; }

for m in 128 1024 4096; do
    n=$runs
    [ "$m" != 4096 ] || n=$runs4g
    echo "bench: snapshot femtovm ${m} MiB ($n restores)" >&2
    "$snap" -n "$n" -m "$m" -a "$args" -d "$dir" -e "$tmp/snap_femtovm_$m.stderr" \
        -k "$root/build/guest/count.elf" -- "$femtovm" >"$tmp/snap_femtovm_$m.out" ||
        { tail -n 5 "$tmp/snap_femtovm_$m.stderr" >&2; rm -f "$tmp/snap_femtovm_$m.out"; echo "bench: snapshot femtovm $m MiB failed" >&2; }
done

# The same restores into femtovm processes started with --prepare-mem-mib
# (a pool waiting for a load: KVM's memory-slot setup already done).
for m in 128 1024 4096; do
    n=$runs
    [ "$m" != 4096 ] || n=$runs4g
    echo "bench: snapshot femtovm ${m} MiB, --prepare-mem-mib $m ($n restores)" >&2
    "$snap" -n "$n" -m "$m" -a "$args" -d "$dir" -e "$tmp/snap_prepared_$m.stderr" \
        -k "$root/build/guest/count.elf" -- "$femtovm" --prepare-mem-mib "$m" >"$tmp/snap_prepared_$m.out" ||
        { tail -n 5 "$tmp/snap_prepared_$m.stderr" >&2; rm -f "$tmp/snap_prepared_$m.out"; echo "bench: snapshot femtovm $m MiB prepared failed" >&2; }
done

# clone_rows JSON: the fan-out report as the tool lines bench/run.sh reads.
clone_rows() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n, m, t = r["loaded"], r["memory_kib"], r["timing_ms"]
lat = sorted(c["load_ms"] * 1000 for c in r["clones"] if c["state"] == "ok")
def pct(p):
    return lat[max(0, min(len(lat) - 1, int(p / 100 * len(lat) + 0.5) - 1))]
med = (lat[(n - 1) // 2] + lat[n // 2]) / 2
print("clone_load_us median=%.1f p10=%.1f p90=%.1f p99=%.1f min=%.1f max=%.1f n=%d" %
      (med, pct(10), pct(90), pct(99), lat[0], lat[-1], n))
print("clone_fanout_ms value=%.2f n=%d" % (t["fanout"], n))
print("clone_spawn_to_loaded_ms value=%.2f n=%d" % (t["spawn_to_last_loaded"], n))
for k in ("rss", "pss", "private"):
    print("clone_%s_sum_mib value=%.2f n=%d" % (k, m[k] / 1024, n))
PY
}

# Clone memory: memtouch (a working set written before the snapshot, read
# again by every clone) vs as many cold boots of it.
if [ "$clones" -gt 0 ] && [ -s "$tmp/snap_femtovm_128.out" ]; then
    mt=$root/build/guest/perf/memtouch.elf
    mt_args="console=ttyS0 memtouch.mib=$touch_mib"
    prefix=$dir/femtovm-bench-clones-$$
    work=$tmp/fanout
    echo "bench: snapshot femtovm 128 MiB: $clones clones (femtovm-fanout) vs $clones cold boots, memtouch $touch_mib MiB" >&2
    if "$snap" -S "$prefix" -m 128 -a "$mt_args" -w "memtouch: pass 1 ok" -e "$tmp/snap_clones.stderr" \
            -k "$mt" -- "$femtovm" >"$tmp/snap_clones_create.out" &&
        "$fanout" --femtovm "$femtovm" -n "$clones" -s "$prefix.state" -m "$prefix.mem" -d "$work" \
            --wait-serial "memtouch: pass" --wait-count 2 --json >"$tmp/fanout.json" 2>>"$tmp/snap_clones.stderr"; then
        # Two pass lines after the restore: the whole working set was read.
        ! grep -l FAIL "$work"/clone-*.serial >&2 || echo "bench: a clone's memtouch check FAILED" >&2
        clone_rows "$tmp/fanout.json" >>"$tmp/snap_femtovm_128.out"
        sed 's/^/memtouch_/' "$tmp/snap_clones_create.out" >>"$tmp/snap_femtovm_128.out"
    else
        tail -n 5 "$tmp/snap_clones.stderr" >&2
        echo "bench: snapshot clones failed" >&2
    fi
    rm -rf "$work" "$prefix.state" "$prefix.mem"
    "$snap" -B "$clones" -m 128 -a "$mt_args" -w "memtouch: pass 1 ok" -e "$tmp/snap_cold.stderr" \
        -k "$mt" -- "$femtovm" >>"$tmp/snap_femtovm_128.out" ||
        { tail -n 5 "$tmp/snap_cold.stderr" >&2; echo "bench: snapshot cold boots failed" >&2; }
    # bench/run.sh keeps only the Pss sums: show the rest in the log.
    grep -E '^(clone|cold|memtouch)_' "$tmp/snap_femtovm_128.out" | sed 's/^/bench:   /' >&2 || true
fi

if command -v "$qemu" >/dev/null; then
    echo "bench: snapshot qemu-microvm 128 MiB (migrate to file, $runs -incoming restores)" >&2
    "$snap" -Q -n "$runs" -d "$dir" -e "$tmp/snap_qemu_128.stderr" -- "$qemu" -M microvm,isa-serial=on \
        -accel kvm -nodefaults -no-user-config -display none -serial stdio -m 128 \
        -kernel "$root/build/guest/count-pvh.elf" -append "$args" >"$tmp/snap_qemu_128.out" ||
        { tail -n 5 "$tmp/snap_qemu_128.stderr" >&2; rm -f "$tmp/snap_qemu_128.out"; echo "bench: snapshot qemu restore FAILED, no QEMU snapshot rows" >&2; }
fi
