#!/usr/bin/env bash
# Cold start and idle RSS: femtovm vs QEMU microvm (same guest, same run)
# vs a bare KVM loader. See bench/README.md for what each number means.
# Usage: bench/run.sh            (after `make all bench-tools`; `make bench`)
# Env: BENCH_RUNS (cold-start runs, default 30), BENCH_RSS_RUNS (default 5),
#      QEMU (default qemu-system-x86_64), BENCH_RESULTS (default bench/results)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${BENCH_RUNS:-30}
rss_runs=${BENCH_RSS_RUNS:-5}
qemu=${QEMU:-qemu-system-x86_64}
results=${BENCH_RESULTS:-$root/bench/results}
femtovm=$root/build/femtovm
coldstart=$root/build/bench/coldstart
bare=$root/build/bench/bare_kvm
guest=$root/build/guest/hello.elf
guest_pvh=$root/build/guest/hello-pvh.elf
mem_mib=128

die() { echo "bench: $*" >&2; exit 1; }
for f in "$femtovm" "$coldstart" "$bare" "$guest" "$guest_pvh"; do
    [ -e "$f" ] || die "missing $f (run: make all bench-tools)"
done
[ -w /dev/kvm ] || die "/dev/kvm not usable"
have_qemu=1
command -v "$qemu" >/dev/null || { have_qemu=0; echo "bench: $qemu not found, QEMU rows skipped (scripts/deps.sh bench)" >&2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$results"

# Firecracker-shape config for femtovm; boot args are the guest's only input.
write_cfg() {
    printf '{"boot-source":{"kernel_image_path":"%s","boot_args":"%s"},"machine-config":{"vcpu_count":1,"mem_size_mib":%d}}\n' \
        "$1" "$2" "$mem_mib" >"$3"
}
write_cfg "$guest" "console=ttyS0" "$tmp/cold.json"
write_cfg "$guest" "console=ttyS0 idle" "$tmp/idle.json"

fvm_cmd() { cmd=("$femtovm" --no-api --config-file "$1"); }
# QEMU microvm: -nodefaults drops default devices, but microvm's own ISA
# serial (machine property isa-serial, on by default) stays as COM1 and
# takes the first -serial chardev. Boots the PVH build of the same guest.
qemu_cmd() {
    cmd=("$qemu" -M "microvm,isa-serial=on" -accel kvm -nodefaults -no-user-config
        -display none -serial stdio -m "$mem_mib" -kernel "$guest_pvh" -append "$1")
}

# measure NAME RUNS [-w TEXT] -- CMD...: run coldstart, keep its output.
measure() {
    local name=$1 n=$2
    shift 2
    echo "bench: $name ($n runs)" >&2
    "$coldstart" -n "$n" -t 30 -e "$tmp/$name.stderr" "$@" >"$tmp/$name.out" ||
        { cat "$tmp/$name.stderr" >&2; die "$name failed"; }
}
# field NAME KEY STAT: one statistic from a coldstart output.
field() { sed -n "s/^$2 .*$3=\([0-9.]*\).*/\1/p" "$tmp/$1.out"; }

cmd=("$bare")
measure bare_cold "$runs" -- "${cmd[@]}"
fvm_cmd "$tmp/cold.json"
measure femtovm_cold "$runs" -- "${cmd[@]}"
if [ $have_qemu = 1 ]; then
    qemu_cmd "console=ttyS0"
    measure qemu_cold "$runs" -- "${cmd[@]}"
fi
fvm_cmd "$tmp/idle.json"
measure femtovm_idle "$rss_runs" -w "hello: idle" -- "${cmd[@]}"
if [ $have_qemu = 1 ]; then
    qemu_cmd "console=ttyS0 idle"
    measure qemu_idle "$rss_runs" -w "hello: idle" -- "${cmd[@]}"
fi

# Row metadata.
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="$(hostname) ($cpu, $(nproc) CPUs)"
machine=${machine//,/;}
kernel=$(uname -r)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
[ -z "$(git status --porcelain 2>/dev/null)" ] || commit="$commit-dirty"

csv=$results/results.csv
[ -s "$csv" ] || echo "date,machine,host_kernel,commit,vmm,metric,unit,median,p10,p90,n" >"$csv"
md=$results/latest.md
{
    echo "# femtovm benchmark results"
    echo
    echo "Date $date; machine: $machine; host kernel: $kernel; commit: $commit."
    echo "Guest: build/guest/hello.elf (femtovm) / hello-pvh.elf (QEMU), 1 vCPU, $mem_mib MiB."
    echo
    echo "| vmm | metric | unit | median | p10 | p90 | n | machine | kernel | commit |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$md"

# row VMM METRIC UNIT NAME KEY [DIV]: append one row to the CSV and Markdown.
row() {
    local vmm=$1 metric=$2 unit=$3 name=$4 key=$5 div=${6:-1} med p10 p90 n
    [ -s "$tmp/$name.out" ] || return 0
    med=$(awk -v v="$(field "$name" "$key" median)" -v d="$div" 'BEGIN{printf "%.2f", v/d}')
    p10=$(awk -v v="$(field "$name" "$key" p10)" -v d="$div" 'BEGIN{printf "%.2f", v/d}')
    p90=$(awk -v v="$(field "$name" "$key" p90)" -v d="$div" 'BEGIN{printf "%.2f", v/d}')
    n=$(field "$name" "$key" n)
    echo "$date,$machine,$kernel,$commit,$vmm,$metric,$unit,$med,$p10,$p90,$n" >>"$csv"
    echo "| $vmm | $metric | $unit | $med | $p10 | $p90 | $n | $machine | $kernel | $commit |" >>"$md"
}
row bare_kvm first_byte ms bare_cold first_byte_us 1000
row femtovm first_byte ms femtovm_cold first_byte_us 1000
row qemu-microvm first_byte ms qemu_cold first_byte_us 1000
row femtovm idle_line ms femtovm_idle line_us 1000
row qemu-microvm idle_line ms qemu_idle line_us 1000
for m in vmrss vmhwm rssanon; do
    row femtovm "idle_$m" MiB femtovm_idle "${m}_kb" 1024
    row qemu-microvm "idle_$m" MiB qemu_idle "${m}_kb" 1024
done

cat "$md"
ms() { awk -v v="$(field "$1" first_byte_us median)" 'BEGIN{printf "%.2f", v/1000}'; }
echo
echo "cold start (exec -> first guest serial byte), median of $runs:"
echo "  bare_kvm  $(ms bare_cold) ms"
echo "  femtovm   $(ms femtovm_cold) ms"
if [ $have_qemu = 1 ]; then
    echo "  qemu      $(ms qemu_cold) ms"
    awk -v f="$(field femtovm_cold first_byte_us median)" -v q="$(field qemu_cold first_byte_us median)" \
        'BEGIN{printf "  ratio qemu/femtovm = %.1fx\n", q/f}'
    awk -v f="$(field femtovm_idle vmrss_kb median)" -v q="$(field qemu_idle vmrss_kb median)" \
        'BEGIN{printf "idle VmRSS: femtovm %.1f MiB, qemu %.1f MiB (ratio %.1fx)\n", f/1024, q/1024, q/f}'
fi
echo "results: $md, $csv"
