#!/usr/bin/env bash
# Cold start and idle RSS: femtovm vs QEMU microvm (same guest, same run)
# vs a bare KVM loader; API latency and the API-driven boot (femtovm only);
# density: N idle VMs at once, femtovm and QEMU microvm. Then the charts.
# See bench/README.md for what each number means.
# Usage: bench/run.sh            (after `make all bench-tools`; `make bench`)
# Env: BENCH_RUNS (cold-start runs, default 30), BENCH_RSS_RUNS (default 5),
#      BENCH_API_N (requests of each kind, default 2000),
#      BENCH_API_BOOT_RUNS (default 30), BENCH_DENSITY_N (femtovm VMs,
#      default 200), BENCH_QEMU_DENSITY_N (default 20),
#      QEMU (default qemu-system-x86_64), BENCH_RESULTS (default bench/results),
#      BENCH_DEVICES (default 1; 0 skips bench/blk.sh, bench/net.sh and
#      bench/vsock.sh), and the knobs of those scripts.
# Device benchmarks: bench/blk.sh (virtio-blk) and bench/net.sh (virtio-net),
# both with the ring-3 perf guests, femtovm vs QEMU microvm; bench/vsock.sh
# (virtio-vsock, femtovm only: no /dev/vhost-vsock for QEMU here).
# Snapshots: bench/snapshot.sh (create/restore at 128 MiB, 1 GiB, 4 GiB, 20
# clones vs 20 cold boots, QEMU migrate-to-file peer; BENCH_SNAPSHOT=0 skips).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${BENCH_RUNS:-30}
rss_runs=${BENCH_RSS_RUNS:-5}
api_n=${BENCH_API_N:-2000}
boot_runs=${BENCH_API_BOOT_RUNS:-30}
density_n=${BENCH_DENSITY_N:-200}
qemu_density_n=${BENCH_QEMU_DENSITY_N:-20}
qemu=${QEMU:-qemu-system-x86_64}
results=${BENCH_RESULTS:-$root/bench/results}
femtovm=$root/build/femtovm
coldstart=$root/build/bench/coldstart
bare=$root/build/bench/bare_kvm
api_latency=$root/build/bench/api_latency
api_boot=$root/build/bench/api_boot
density=$root/build/bench/density
guest=$root/build/guest/hello.elf
guest_pvh=$root/build/guest/hello-pvh.elf
mem_mib=128

die() { echo "bench: $*" >&2; exit 1; }
for f in "$femtovm" "$coldstart" "$bare" "$api_latency" "$api_boot" "$density" "$guest" "$guest_pvh"; do
    [ -e "$f" ] || die "missing $f (run: make all bench-tools)"
done
[ -w /dev/kvm ] || die "/dev/kvm not usable"
have_qemu=1
command -v "$qemu" >/dev/null || { have_qemu=0; echo "bench: $qemu not found, QEMU rows skipped (scripts/deps.sh bench)" >&2; }

# Other work on the host skews every number; record the load we started with.
load0=$(cut -d' ' -f1-3 /proc/loadavg)
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
# field NAME KEY STAT: one statistic from a tool's output ("KEY stat=V ...").
field() { sed -n "s/^$2 \(.* \)\{0,1\}$3=\([-0-9.]*\).*/\2/p" "$tmp/$1.out"; }

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

# API latency: one keep-alive connection, GET / and pre-boot PUT /machine-config.
echo "bench: api_latency ($api_n requests of each kind)" >&2
"$api_latency" -n "$api_n" -e "$tmp/api_latency.stderr" -- "$femtovm" >"$tmp/api_latency.out" ||
    { cat "$tmp/api_latency.stderr" >&2; die "api_latency failed"; }
# API-driven boot: exec -> socket -> boot-source, machine-config, InstanceStart -> first byte.
echo "bench: api_boot ($boot_runs runs)" >&2
"$api_boot" -n "$boot_runs" -m "$mem_mib" -k "$guest" -a "console=ttyS0" \
    -e "$tmp/api_boot.stderr" -- "$femtovm" >"$tmp/api_boot.out" ||
    { cat "$tmp/api_boot.stderr" >&2; die "api_boot failed"; }
# Density: N idle VMs at once. Per-VM memory and start rate, femtovm and QEMU.
density_run() {
    local name=$1 n=$2
    shift 2
    echo "bench: $name ($n idle VMs at once)" >&2
    "$density" -n "$n" -e "$tmp/$name.stderr" -- "$@" >"$tmp/$name.out" ||
        { cat "$tmp/$name.out"; tail -n 20 "$tmp/$name.stderr" >&2; die "$name failed"; }
}
fvm_cmd "$tmp/idle.json"
density_run femtovm_density "$density_n" "${cmd[@]}"
if [ $have_qemu = 1 ]; then
    qemu_cmd "console=ttyS0 idle"
    density_run qemu_density "$qemu_density_n" "${cmd[@]}"
fi

# Devices: virtio-blk and virtio-net, femtovm vs QEMU microvm (and the host).
if [ "${BENCH_DEVICES:-1}" != 0 ]; then
    "$root/bench/blk.sh" "$tmp" || echo "bench: blk benchmark failed" >&2
    "$root/bench/net.sh" "$tmp" || echo "bench: net benchmark failed" >&2
    "$root/bench/vsock.sh" "$tmp" || echo "bench: vsock benchmark failed" >&2
fi
# Snapshots: create + restore at 128 MiB / 1 GiB / 4 GiB, 20 clones, QEMU peer.
if [ "${BENCH_SNAPSHOT:-1}" != 0 ]; then
    "$root/bench/snapshot.sh" "$tmp" || echo "bench: snapshot benchmark failed" >&2
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
    echo "Host load average (1/5/15 min) when the run started: $load0. Density: $density_n femtovm VMs, $qemu_density_n QEMU VMs."
    echo "API latency and density rows: see bench/README.md; p99/max/value rows carry the number in the median column."
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
# rowv VMM METRIC UNIT NAME KEY STAT [DIV]: a single statistic (p99, max,
# value) as the median column, p10/p90 left empty.
rowv() {
    local vmm=$1 metric=$2 unit=$3 name=$4 key=$5 stat=$6 div=${7:-1} v n
    [ -s "$tmp/$name.out" ] || return 0
    v=$(awk -v v="$(field "$name" "$key" "$stat")" -v d="$div" 'BEGIN{printf "%.2f", v/d}')
    n=$(field "$name" "$key" n)
    echo "$date,$machine,$kernel,$commit,$vmm,$metric,$unit,$v,,,$n" >>"$csv"
    echo "| $vmm | $metric | $unit | $v | | | $n | $machine | $kernel | $commit |" >>"$md"
}
row bare_kvm first_byte ms bare_cold first_byte_us 1000
row femtovm first_byte ms femtovm_cold first_byte_us 1000
row qemu-microvm first_byte ms qemu_cold first_byte_us 1000
row femtovm idle_line ms femtovm_idle line_us 1000
row qemu-microvm idle_line ms qemu_idle line_us 1000
row femtovm api_boot_first_byte ms api_boot first_byte_us 1000
for m in vmrss vmhwm rssanon; do
    row femtovm "idle_$m" MiB femtovm_idle "${m}_kb" 1024
    row qemu-microvm "idle_$m" MiB qemu_idle "${m}_kb" 1024
done
# API latency (us): median/p10/p90 rows, then p99, max and throughput rows.
for k in get:api_get_root put:api_put_machine_config; do
    row femtovm "${k#*:}" us api_latency "${k%%:*}_us"
    rowv femtovm "${k#*:}_p99" us api_latency "${k%%:*}_us" p99
    rowv femtovm "${k#*:}_max" us api_latency "${k%%:*}_us" max
    rowv femtovm "${k#*:}_rate" req/s api_latency "${k%%:*}_rps" value
done
# API-driven boot breakdown, each from exec() (first byte is above).
row femtovm api_boot_sock_ready ms api_boot sock_us 1000
row femtovm api_boot_boot_source ms api_boot boot_source_us 1000
row femtovm api_boot_machine_config ms api_boot machine_cfg_us 1000
row femtovm api_boot_instance_start ms api_boot start_resp_us 1000
row femtovm api_boot_start_rtt ms api_boot start_rtt_us 1000
row femtovm api_boot_start_to_first_byte ms api_boot start_to_first_us 1000
# Density: n is the number of VMs started at once.
for v in femtovm:femtovm_density qemu-microvm:qemu_density; do
    vmm=${v%%:*} name=${v#*:}
    row "$vmm" density_ready ms "$name" ready_ms
    row "$vmm" density_vmrss MiB "$name" vmrss_kb 1024
    row "$vmm" density_pss MiB "$name" pss_kb 1024
    row "$vmm" density_rssanon MiB "$name" rssanon_kb 1024
    rowv "$vmm" density_memavail_per_vm MiB "$name" memavail_per_vm_mib value
    rowv "$vmm" density_memavail_drop MiB "$name" memavail_drop_mib value
    rowv "$vmm" density_kernel_per_vm MiB "$name" kernel_per_vm_kib value 1024
    rowv "$vmm" density_memavail_release MiB "$name" memavail_release_mib value
    rowv "$vmm" density_rss_sum MiB "$name" rss_sum_mib value
    rowv "$vmm" density_pss_sum MiB "$name" pss_sum_mib value
    rowv "$vmm" density_start_rate VMs/s "$name" start_rate value
    rowv "$vmm" density_total s "$name" total_s value
    rowv "$vmm" density_spawn s "$name" spawn_s value
    rowv "$vmm" density_idle_cpu %CPU "$name" idle_cpu_pct value
    rowv "$vmm" density_alive VMs "$name" alive value
    rowv "$vmm" density_kill s "$name" kill_s value
done

# Device rows: blk (femtovm, QEMU: IOPS, MB/s, CPU per I/O, kicks; host:
# IOPS, MB/s), net (throughput both ways, UDP round trip, ping).
blk_keys="randread4k_qd1 randread4k_qd16 randread4k_qd32 read64k_qd16 write64k_qd16 irq_randread4k_qd1 irq_randread4k_qd32"
for v in femtovm:blk_femtovm qemu-microvm:blk_qemu; do
    vmm=${v%%:*} name=${v#*:}
    for k in $blk_keys; do
        p=blk_${k#irq_}
        [ "${k#irq_}" = "$k" ] || p=blk_irq_${k#irq_}
        rowv "$vmm" "${p}_iops" IOPS "$name" "${p}_iops" value
        rowv "$vmm" "${p}_mbps" MB/s "$name" "${p}_mbps" value
        rowv "$vmm" "${p}_cpu_us_per_io" us "$name" "${p}_cpu_us_per_op" value
        rowv "$vmm" "${p}_kicks" kicks "$name" "${p}_kicks" value
    done
done
for k in randread4k read64k write64k; do
    rowv host "blk_${k}_qd1_iops" IOPS blk_host "blk_${k}_host_iops" value
    rowv host "blk_${k}_qd1_mbps" MB/s blk_host "blk_${k}_host_mbps" value
done
for v in femtovm:net_femtovm qemu-microvm:net_qemu qemu-microvm-vhost:net_qemu_vhost; do
    vmm=${v%%:*} name=${v#*:}
    rowv "$vmm" net_tx_guest_pps pkt/s "$name" net_tx_pps value
    rowv "$vmm" net_tx_guest_mbps Mbit/s "$name" net_tx_mbps value
    rowv "$vmm" net_tx_host_pps pkt/s "$name" net_tx_host_pps value
    rowv "$vmm" net_tx_host_mbps Mbit/s "$name" net_tx_host_mbps value
    rowv "$vmm" net_tx_cpu_us_per_pkt us "$name" net_tx_cpu_us_per_op value
    rowv "$vmm" net_tx_kicks kicks "$name" net_tx_kicks value
    rowv "$vmm" net_rx_pps pkt/s "$name" net_rx_pps value
    rowv "$vmm" net_rx_mbps Mbit/s "$name" net_rx_mbps value
    rowv "$vmm" net_rx_host_sent_pps pkt/s "$name" net_rx_host_sent_pps value
    rowv "$vmm" net_rx_cpu_us_per_pkt us "$name" net_rx_cpu_us_per_op value
    row "$vmm" net_udp_rtt us "$name" net_udp_rtt_us
    rowv "$vmm" net_udp_rtt_p99 us "$name" net_udp_rtt_us p99
    rowv "$vmm" net_udp_rtt_max us "$name" net_udp_rtt_us max
    row "$vmm" net_ping_rtt ms "$name" net_ping_ms
    rowv "$vmm" net_ping_rtt_max ms "$name" net_ping_ms max
    rowv "$vmm" net_ping_lost pkts "$name" net_ping_lost value
done
# vsock (femtovm only): echo/sink/source MB/s and VMM CPU per MB, 1- and
# 64-byte round trips (us, median/p10/p90, then p99, max, rate, CPU).
for k in echo sink source; do
    rowv femtovm "vsock_${k}_mbps" MB/s vsock_femtovm "vsock_${k}_mbps" value
    rowv femtovm "vsock_${k}_cpu_us_per_mb" us vsock_femtovm "vsock_${k}_cpu_us_per_mb" value
done
for k in rr1 rr64; do
    row femtovm "vsock_${k}_rtt" us vsock_femtovm "vsock_${k}_us"
    rowv femtovm "vsock_${k}_rtt_p99" us vsock_femtovm "vsock_${k}_us" p99
    rowv femtovm "vsock_${k}_rtt_max" us vsock_femtovm "vsock_${k}_us" max
    rowv femtovm "vsock_${k}_rate" rt/s vsock_femtovm "vsock_${k}_rate" value
    rowv femtovm "vsock_${k}_cpu_us_per_rt" us vsock_femtovm "vsock_${k}_cpu_us_per_rt" value
done

# Snapshots (count guest, 1 vCPU): create (single value), restore stats,
# clone PSS sums (n = VMs). QEMU: migrate to file / -incoming restore.
for v in femtovm:128 femtovm:1024 femtovm:4096 qemu-microvm:128; do
    vmm=${v%%:*} m=${v#*:}
    name=snap_${vmm%%-*}_$m
    rowv "$vmm" "snap_${m}m_create" ms "$name" create_us value 1000
    # QEMU's migrate-incoming has no "restore done" answer: no load row.
    [ "$vmm" = qemu-microvm ] || row "$vmm" "snap_${m}m_load" ms "$name" load_us 1000
    row "$vmm" "snap_${m}m_load_to_line" ms "$name" load_to_line_us 1000
    row "$vmm" "snap_${m}m_exec_to_line" ms "$name" exec_to_line_us 1000
    rowv "$vmm" "snap_${m}m_file" MiB "$name" mem_file_mib value
done
for m in 128 1024 4096; do
    row femtovm-prepared "snap_${m}m_load" ms "snap_prepared_$m" load_us 1000
    row femtovm-prepared "snap_${m}m_load_to_line" ms "snap_prepared_$m" load_to_line_us 1000
done
rowv femtovm snap_128m_clones_pss_sum MiB snap_femtovm_128 clone_pss_sum_mib value
rowv femtovm snap_128m_cold_pss_sum MiB snap_femtovm_128 cold_pss_sum_mib value

cat "$md"
echo
echo "host load average at start: $load0"
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
# ratio LABEL NAME_A KEY_A STAT_A NAME_B KEY_B STAT_B: B/A.
ratio() {
    awk -v a="$(field "$2" "$3" "$4")" -v b="$(field "$5" "$6" "$7")" -v l="$1" \
        'BEGIN{ if (a > 0 && b != "") printf "  %s = %.1fx\n", l, b/a }'
}
val() { awk -v v="$(field "$1" "$2" "$3")" -v d="${4:-1}" -v f="${5:-%.2f}" 'BEGIN{printf f, v/d}'; }
echo
echo "API latency, one keep-alive connection, $api_n requests each (target p99 < 1 ms):"
echo "  GET /                 median $(val api_latency get_us median) us, p99 $(val api_latency get_us p99) us, max $(val api_latency get_us max) us"
echo "  PUT /machine-config   median $(val api_latency put_us median) us, p99 $(val api_latency put_us p99) us, max $(val api_latency put_us max) us"
echo "API-driven boot (exec -> ... -> first guest byte), median of $boot_runs:"
echo "  socket ready $(val api_boot sock_us median 1000) ms, InstanceStart answered $(val api_boot start_resp_us median 1000) ms, first byte $(val api_boot first_byte_us median 1000) ms"
ratio "API boot / --config-file cold start (femtovm)" femtovm_cold first_byte_us median api_boot first_byte_us median
if [ $have_qemu = 1 ]; then
    ratio "qemu cold start / femtovm API boot" api_boot first_byte_us median qemu_cold first_byte_us median
fi
echo "density: $density_n femtovm VMs: all idle after $(val femtovm_density total_s value) s ($(val femtovm_density start_rate value 1 %.1f) VMs/s), MemAvailable -$(val femtovm_density memavail_drop_mib value 1 %.0f) MiB ($(val femtovm_density memavail_per_vm_mib value) MiB/VM, kernel $(val femtovm_density kernel_per_vm_kib value 1024) MiB/VM; +$(val femtovm_density memavail_release_mib value 1 %.0f) MiB back after the kill), PSS $(val femtovm_density pss_kb median 1024) MiB/VM, alive $(val femtovm_density alive value 1 %.0f)"
if [ $have_qemu = 1 ]; then
    echo "density: $qemu_density_n QEMU VMs: all idle after $(val qemu_density total_s value) s ($(val qemu_density start_rate value 1 %.1f) VMs/s), MemAvailable -$(val qemu_density memavail_drop_mib value 1 %.0f) MiB ($(val qemu_density memavail_per_vm_mib value) MiB/VM, kernel $(val qemu_density kernel_per_vm_kib value 1024) MiB/VM; +$(val qemu_density memavail_release_mib value 1 %.0f) MiB back after the kill), PSS $(val qemu_density pss_kb median 1024) MiB/VM, alive $(val qemu_density alive value 1 %.0f)"
    ratio "per-VM MemAvailable drop qemu/femtovm" femtovm_density memavail_per_vm_mib value qemu_density memavail_per_vm_mib value
    ratio "per-VM PSS qemu/femtovm" femtovm_density pss_kb median qemu_density pss_kb median
    ratio "start rate femtovm/qemu" qemu_density start_rate value femtovm_density start_rate value
fi

if [ -s "$tmp/blk_femtovm.out" ]; then
    echo
    echo "virtio-blk (blkbench guest, ring-3 polling; IOPS femtovm / qemu = ratio; femtovm CPU per I/O):"
    for k in randread4k_qd1 randread4k_qd16 randread4k_qd32 read64k_qd16 write64k_qd16; do
        awk -v k="$k" -v f="$(field blk_femtovm "blk_${k}_iops" value)" -v q="$(field blk_qemu "blk_${k}_iops" value)" \
            -v fm="$(field blk_femtovm "blk_${k}_mbps" value)" -v qm="$(field blk_qemu "blk_${k}_mbps" value)" \
            -v c="$(field blk_femtovm "blk_${k}_cpu_us_per_op" value)" \
            'BEGIN{ printf "  %-15s femtovm %8.0f IOPS %8.1f MB/s   qemu %8.0f IOPS %8.1f MB/s   ratio %5.1f%%   femtovm %.1f us CPU/IO\n", k, f, fm, q, qm, (q > 0 ? 100 * f / q : 0), c }'
    done
    for k in randread4k read64k write64k; do
        echo "  host $k qd1: $(val blk_host "blk_${k}_host_iops" value 1 %.0f) IOPS, $(val blk_host "blk_${k}_host_mbps" value 1 %.1f) MB/s"
    done
fi
if [ -s "$tmp/net_femtovm.out" ]; then
    echo "virtio-net (netbench guest; femtovm / qemu):"
    for v in net_femtovm net_qemu net_qemu_vhost; do
        [ -s "$tmp/$v.out" ] || continue
        echo "  ${v#net_}: tx $(val "$v" net_tx_host_mbps value 1 %.0f) Mbit/s ($(val "$v" net_tx_host_pps value 1 %.0f) pkt/s at the host), rx $(val "$v" net_rx_mbps value 1 %.0f) Mbit/s ($(val "$v" net_rx_pps value 1 %.0f) pkt/s), UDP rtt median $(val "$v" net_udp_rtt_us median 1 %.1f) us p99 $(val "$v" net_udp_rtt_us p99 1 %.1f) us, ping median $(val "$v" net_ping_ms median 1 %.3f) ms"
    done
fi
if [ -s "$tmp/vsock_femtovm.out" ]; then
    v=vsock_femtovm
    echo "virtio-vsock (vsockbench guest, femtovm only; no /dev/vhost-vsock for a QEMU reference):"
    echo "  echo $(val $v vsock_echo_mbps value 1 %.0f) MB/s each way, host->guest $(val $v vsock_sink_mbps value 1 %.0f) MB/s, guest->host $(val $v vsock_source_mbps value 1 %.0f) MB/s; round trip 1 B median $(val $v vsock_rr1_us median 1 %.1f) us p99 $(val $v vsock_rr1_us p99 1 %.1f) us, 64 B median $(val $v vsock_rr64_us median 1 %.1f) us p99 $(val $v vsock_rr64_us p99 1 %.1f) us"
fi

if [ -s "$tmp/snap_femtovm_128.out" ]; then
    echo "snapshots (count guest, 1 vCPU; target: restore <= 2 ms at 128 MiB, nearly flat in size):"
    for m in 128 1024 4096; do
        [ -s "$tmp/snap_femtovm_$m.out" ] || continue
        echo "  femtovm $m MiB: create $(val "snap_femtovm_$m" create_us value 1000) ms; load (resume_vm) median $(val "snap_femtovm_$m" load_us median 1000) ms p90 $(val "snap_femtovm_$m" load_us p90 1000) ms; load -> next count line $(val "snap_femtovm_$m" load_to_line_us median 1000) ms; n=$(field "snap_femtovm_$m" load_us n)"
    done
    for m in 128 1024 4096; do
        [ -s "$tmp/snap_prepared_$m.out" ] || continue
        echo "  femtovm $m MiB, --prepare-mem-mib: load (resume_vm) median $(val "snap_prepared_$m" load_us median 1000) ms p90 $(val "snap_prepared_$m" load_us p90 1000) ms; load -> next count line $(val "snap_prepared_$m" load_to_line_us median 1000) ms; n=$(field "snap_prepared_$m" load_us n)"
    done
    echo "  $(field snap_femtovm_128 clone_pss_sum_mib n) clones of the 128 MiB snapshot: PSS sum $(val snap_femtovm_128 clone_pss_sum_mib value) MiB; as many cold boots: $(val snap_femtovm_128 cold_pss_sum_mib value) MiB"
    if [ -s "$tmp/snap_qemu_128.out" ]; then
        echo "  qemu-microvm 128 MiB: migrate to file $(val snap_qemu_128 create_us value 1000) ms; migrate-incoming -> count line $(val snap_qemu_128 load_to_line_us median 1000) ms; exec -> count line $(val snap_qemu_128 exec_to_line_us median 1000) ms (femtovm: $(val snap_femtovm_128 exec_to_line_us median 1000) ms)"
    elif [ $have_qemu = 1 ]; then
        echo "  qemu-microvm: restore did not work in this run, no QEMU snapshot rows"
    fi
fi
if command -v gnuplot >/dev/null; then
    "$root/bench/plot.sh" "$csv" "$results" || echo "bench: charts failed" >&2
else
    echo "bench: gnuplot not found, charts skipped (scripts/deps.sh bench)" >&2
fi
echo "results: $md, $csv"
