#!/usr/bin/env bash
# Charts from bench/results/results.csv, one PNG per family:
#   coldstart.png  exec -> first guest byte / idle line (latest run)
#   memory.png     memory per VM, femtovm vs QEMU microvm (latest run)
#   density.png    N idle VMs at once: start rate, time, memory (the latest
#                  run of each VMM and N, so a 1000-VM run stays visible)
#   api.png        API round-trip latency and the API-driven boot (latest run)
#   blk.png        virtio-blk IOPS and MB/s, femtovm / QEMU microvm / host
#                  pread (latest run with blk rows)
#   snapshot.png   snapshot restore latency by guest size, QEMU migration
#                  peer (latest run)
#   vsock.png      virtio-vsock throughput and round-trip latency (femtovm only)
#   net.png        virtio-net throughput and round-trip latency, femtovm /
#                  QEMU microvm (latest run with net rows)
# Usage: bench/plot.sh [CSV [OUTDIR]]   (run by bench/run.sh; needs gnuplot)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
csv=${1:-$root/bench/results/results.csv}
out=${2:-$(dirname "$csv")}
command -v gnuplot >/dev/null || { echo "plot: gnuplot not found (scripts/deps.sh bench)" >&2; exit 1; }
[ -s "$csv" ] || { echo "plot: no $csv" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The latest run: the date on the last row; its machine and commit.
last=$(tail -n 1 "$csv")
IFS=, read -r run_date run_machine run_kernel run_commit _ <<<"$last"
subtitle="$run_date, $run_machine, kernel $run_kernel, commit $run_commit"

# pick VMM METRIC [LABEL]: "LABEL median p10 p90" of the latest run's row
# (p10/p90 fall back to the median when empty); nothing if absent.
pick() {
    L=${3:-$1} awk -F, -v d="$run_date" -v v="$1" -v m="$2" '
        BEGIN { l = ENVIRON["L"] }
        $1 == d && $5 == v && $6 == m {
            p10 = $9 == "" ? $8 : $9; p90 = $10 == "" ? $8 : $10
            r = sprintf("\"%s\" %s %s %s", l, $8, p10, p90) }
        END { if (r != "") print r }' "$csv"
}
# pair LABEL METRIC: "LABEL femtovm-median qemu-median" (latest run; - if absent).
pair() {
    L=$1 awk -F, -v d="$run_date" -v m="$2" '
        BEGIN { l = ENVIRON["L"] }
        $1 == d && $6 == m && $5 == "femtovm" { f = $8 }
        $1 == d && $6 == m && $5 == "qemu-microvm" { q = $8 }
        END { if (f != "" || q != "") printf "\"%s\" %s %s\n", l, f == "" ? "-" : f, q == "" ? "-" : q }' "$csv"
}

common='set terminal pngcairo size 1100,650 font "DejaVu Sans,11" noenhanced
set style fill solid 0.85 border -1
set grid ytics lc rgb "#dddddd"
set border 3
set xtics nomirror
set ytics nomirror
set key top left
set bmargin 5'

# --- Cold start ---------------------------------------------------------
{
    pick bare_kvm first_byte "bare KVM loader\nfirst byte"
    pick femtovm first_byte "femtovm --config-file\nfirst byte"
    pick femtovm api_boot_first_byte "femtovm API boot\nfirst byte"
    pick qemu-microvm first_byte "QEMU microvm\nfirst byte"
    pick femtovm idle_line "femtovm\nidle line"
    pick qemu-microvm idle_line "QEMU microvm\nidle line"
} >"$tmp/cold.dat"
if [ -s "$tmp/cold.dat" ]; then
    gnuplot <<EOF
$common
set output "$out/coldstart.png"
set title "Cold start: exec() of the VMM -> guest output (median, bars p10-p90; log scale)\n$subtitle"
set ylabel "ms (log scale)"
set logscale y
set yrange [0.5:300]
set boxwidth 0.6
unset key
plot "$tmp/cold.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:(\$4*1.3):(sprintf("%.2f ms", \$2)) with labels
EOF
fi

# --- Memory -------------------------------------------------------------
{
    pair "idle VmRSS\n(1 VM)" idle_vmrss
    pair "idle RssAnon\n(1 VM)" idle_rssanon
    pair "VmRSS per VM\n(density)" density_vmrss
    pair "PSS per VM\n(density)" density_pss
    pair "kernel memory\nper VM (density)" density_kernel_per_vm
    pair "MemAvailable drop\nper VM (density)" density_memavail_per_vm
} >"$tmp/mem.dat"
if [ -s "$tmp/mem.dat" ]; then
    gnuplot <<EOF
$common
set terminal pngcairo size 1250,650 font "DejaVu Sans,11" noenhanced
set output "$out/memory.png"
set title "Memory per idle VM (128 MiB guest, 1 vCPU): femtovm vs QEMU microvm (log scale)\n$subtitle"
set ylabel "MiB (log scale)"
set logscale y
set yrange [0.1:200]
set style data histograms
set style histogram clustered gap 1.5
set boxwidth 0.9
plot "$tmp/mem.dat" using 2:xtic(1) title "femtovm" lc rgb "#4a7ebb", \
     "" using 3 title "QEMU microvm" lc rgb "#d9822b", \
     "" using (\$0-0.15):(\$2*1.3):(sprintf("%.3g", \$2)) with labels notitle, \
     "" using (\$0+0.15):(\$3*1.3):(sprintf("%.3g", \$3)) with labels notitle
EOF
fi

# --- Density ------------------------------------------------------------
# The latest row of each (vmm, n) density run, one line per run:
# label start_rate total_s memavail_drop pss_sum memavail_per_vm alive n
awk -F, '$6 ~ /^density_/ { k = $5 SUBSEP $11; v[k, $6] = $8; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
    END {
        for (i = 1; i <= n; i++) {
            split(order[i], a, SUBSEP); k = order[i]
            name = a[1] == "qemu-microvm" ? "QEMU microvm" : a[1]
            printf "%s %09d \"%s\\n%d VMs\" %s %s %s %s %s %s %d\n", a[1], a[2], name, a[2],
                v[k, "density_start_rate"], v[k, "density_total"],
                v[k, "density_memavail_drop"], v[k, "density_pss_sum"],
                v[k, "density_memavail_per_vm"], v[k, "density_alive"], a[2]
        }
    }' "$csv" | sort | cut -d' ' -f3- >"$tmp/dens.dat"
if [ -s "$tmp/dens.dat" ]; then
    gnuplot <<EOF
$common
set terminal pngcairo size 1400,600 font "DejaVu Sans,11" noenhanced
set output "$out/density.png"
set multiplot layout 1,3 title "Density: N idle VMs (128 MiB, 1 vCPU, hello.elf idle) started at once on this host; latest run of each VMM and N\n$subtitle"
unset key
set boxwidth 0.6
set xtics font ",10"
set autoscale y
stats "$tmp/dens.dat" using 2 name "R" nooutput
stats "$tmp/dens.dat" using 3 name "T" nooutput
stats "$tmp/dens.dat" using 4 name "M" nooutput
set title "start rate (VMs/s)"
set yrange [0:R_max*1.2]
plot "$tmp/dens.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb", \
     "" using 0:(\$2):(sprintf("%.1f", \$2)) with labels offset 0,0.8
set title "host MemAvailable drop, all N VMs (MiB)"
set yrange [0:M_max*1.25]
plot "$tmp/dens.dat" using 0:4:xtic(1) with boxes lc rgb "#d9822b", \
     "" using 0:(\$4):(sprintf("%.0f MiB\n%.2f MiB/VM", \$4, \$6)) with labels offset 0,1.9
set title "time until all N idle (s); alive at end"
set yrange [0:T_max*1.25]
plot "$tmp/dens.dat" using 0:3:xtic(1) with boxes lc rgb "#6aa84f", \
     "" using 0:(\$3):(sprintf("%.1f s\n%d/%d alive", \$3, \$7, \$8)) with labels offset 0,1.9
unset multiplot
EOF
fi

# --- API ----------------------------------------------------------------
{
    for m in api_get_root:"GET /" api_put_machine_config:"PUT /machine-config"; do
        metric=${m%%:*} label=${m#*:}
        L=$label awk -F, -v d="$run_date" -v m="$metric" '
            BEGIN { l = ENVIRON["L"] }
            $1 == d && $5 == "femtovm" && $6 == m { med = $8 }
            $1 == d && $5 == "femtovm" && $6 == m "_p99" { p99 = $8 }
            $1 == d && $5 == "femtovm" && $6 == m "_max" { mx = $8; n = $11 }
            END { if (med != "") printf "\"%s\\n(%d requests)\" %s %s %s\n", l, n, med, p99, mx }' "$csv"
    done
} >"$tmp/lat.dat"
{
    pick femtovm api_boot_sock_ready "socket\naccepts"
    pick femtovm api_boot_boot_source "PUT\n/boot-source"
    pick femtovm api_boot_machine_config "PUT\n/machine-config"
    pick femtovm api_boot_instance_start "InstanceStart\nanswered"
    pick femtovm api_boot_first_byte "guest's\nfirst byte"
} >"$tmp/boot.dat"
if [ -s "$tmp/lat.dat" ]; then
    gnuplot <<EOF
$common
set terminal pngcairo size 1400,600 font "DejaVu Sans,11" noenhanced
set output "$out/api.png"
set multiplot layout 1,2 title "femtovm HTTP API over a Unix socket\n$subtitle"
set title "round trip on one keep-alive connection (us, log scale)"
set logscale y
set yrange [5:3000]
set ylabel "us"
set key top right
set style data histograms
set style histogram clustered gap 1.5
set boxwidth 0.9
set arrow 1 from graph 0, first 1000 to graph 1, first 1000 nohead dt 2 lc rgb "red"
set label 1 "p99 target: 1 ms" at graph 0.02, first 1250 tc rgb "red"
plot "$tmp/lat.dat" using 2:xtic(1) title "median" lc rgb "#4a7ebb", \
     "" using 3 title "p99" lc rgb "#d9822b", \
     "" using 4 title "max" lc rgb "#999999", \
     "" using (\$0-0.3):(\$2*1.2):(sprintf("%.1f", \$2)) with labels notitle, \
     "" using (\$0):(\$3*1.2):(sprintf("%.1f", \$3)) with labels notitle, \
     "" using (\$0+0.3):(\$4*1.2):(sprintf("%.0f", \$4)) with labels notitle
unset arrow 1
unset label 1
unset logscale y
set style data linespoints
set title "API-driven boot: time from exec() to each step (median, bars p10-p90)"
set ylabel "ms since exec()"
set autoscale y
stats "$tmp/boot.dat" using 4 name "B" nooutput
set yrange [0:B_max*1.15]
set boxwidth 0.6
unset key
plot "$tmp/boot.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:(\$2):(sprintf("%.2f", \$2)) with labels offset 2.2,0.6
unset multiplot
EOF
fi
# --- Devices (latest run that has the rows) -------------------------------
# dev LABEL DATE METRIC [HOSTMETRIC]: "LABEL femtovm qemu qemu-vhost host"
dev_date() { awk -F, -v m="$1" '$6 == m { d = $1 } END { print d }' "$csv"; }
dev() {
    L=$1 awk -F, -v d="$2" -v m="$3" -v hm="${4:-}" '
        BEGIN { l = ENVIRON["L"]; f = q = v = h = "-" }
        $1 == d && $6 == m && $5 == "femtovm" { f = $8 }
        $1 == d && $6 == m && $5 == "qemu-microvm" { q = $8 }
        $1 == d && $6 == m && $5 == "qemu-microvm-vhost" { v = $8 }
        $1 == d && hm != "" && $6 == hm && $5 == "host" { h = $8 }
        END { if (f != "-" || q != "-") printf "\"%s\" %s %s %s %s\n", l, f, q, v, h }' "$csv"
}
bd=$(dev_date blk_randread4k_qd1_iops)
if [ -n "$bd" ]; then
    {
        dev "4K rand read\nqd 1" "$bd" blk_randread4k_qd1_iops blk_randread4k_qd1_iops
        dev "4K rand read\nqd 16" "$bd" blk_randread4k_qd16_iops
        dev "4K rand read\nqd 32" "$bd" blk_randread4k_qd32_iops
        dev "4K rand read\nqd 1, irq" "$bd" blk_irq_randread4k_qd1_iops
        dev "4K rand read\nqd 32, irq" "$bd" blk_irq_randread4k_qd32_iops
        dev "64K seq read\nqd 16" "$bd" blk_read64k_qd16_iops blk_read64k_qd1_iops
        dev "64K seq write\nqd 16" "$bd" blk_write64k_qd16_iops blk_write64k_qd1_iops
    } >"$tmp/blk.dat"
    {
        dev "64K seq read\nqd 16" "$bd" blk_read64k_qd16_mbps blk_read64k_qd1_mbps
        dev "64K seq write\nqd 16" "$bd" blk_write64k_qd16_mbps blk_write64k_qd1_mbps
        dev "4K rand read\nqd 32" "$bd" blk_randread4k_qd32_mbps
    } >"$tmp/blkmb.dat"
    gnuplot <<EOF
$common
set terminal pngcairo size 1400,650 font "DejaVu Sans,11" noenhanced
set output "$out/blk.png"
set multiplot layout 1,2 title "virtio-blk: blkbench guest (ring-3 polling loop), 256 MiB file in the page cache; host = 1 thread pread/pwrite, qd 1\n$bd"
set style data histogram
set style histogram clustered gap 1.5
set boxwidth 0.9
set key top right
set xtics font ",9"
set title "IOPS"
set yrange [0:*]
plot "$tmp/blk.dat" using 2:xtic(1) title "femtovm" lc rgb "#4a7ebb", \
     "" using 3 title "QEMU microvm" lc rgb "#d9822b", \
     "" using 5 title "host pread" lc rgb "#999999"
set title "MB/s"
plot "$tmp/blkmb.dat" using 2:xtic(1) title "femtovm" lc rgb "#4a7ebb", \
     "" using 3 title "QEMU microvm" lc rgb "#d9822b", \
     "" using 5 title "host pread" lc rgb "#999999"
unset multiplot
EOF
fi
nd=$(dev_date net_rx_pps)
if [ -n "$nd" ]; then
    {
        dev "guest -> host\n(arrived at host)" "$nd" net_tx_host_mbps
        dev "host -> guest\n(received by guest)" "$nd" net_rx_mbps
    } >"$tmp/net.dat"
    {
        dev "UDP round trip\nmedian" "$nd" net_udp_rtt
        dev "UDP round trip\np99" "$nd" net_udp_rtt_p99
        dev "ping\nmedian" "$nd" net_ping_rtt |
            awk '{ for (i = 2; i <= 4; i++) if ($i != "-") $i = $i * 1000; print }'
    } >"$tmp/netlat.dat"
    gnuplot <<EOF
$common
set terminal pngcairo size 1400,650 font "DejaVu Sans,11" noenhanced
set output "$out/net.png"
set multiplot layout 1,2 title "virtio-net over a tap in a netns: netbench guest (ring-3 polling), 1400-byte UDP payloads\n$nd"
set style data histogram
set style histogram clustered gap 1.5
set boxwidth 0.9
set key top right
set title "UDP throughput (Mbit/s of payload)"
set yrange [0:*]
plot "$tmp/net.dat" using 2:xtic(1) title "femtovm" lc rgb "#4a7ebb", \
     "" using 3 title "QEMU microvm (vhost=off)" lc rgb "#d9822b", \
     "" using 4 title "QEMU microvm (vhost=on)" lc rgb "#999999"
set title "Round-trip latency (us, log scale)"
set logscale y
set yrange [1:*]
plot "$tmp/netlat.dat" using 2:xtic(1) title "femtovm" lc rgb "#4a7ebb", \
     "" using 3 title "QEMU microvm (vhost=off)" lc rgb "#d9822b", \
     "" using 4 title "QEMU microvm (vhost=on)" lc rgb "#999999"
unset multiplot
EOF
fi
vd=$(dev_date vsock_echo_mbps)
if [ -n "$vd" ]; then
    {
        dev "echo\n(each way)" "$vd" vsock_echo_mbps
        dev "host -> guest\n(sink)" "$vd" vsock_sink_mbps
        dev "guest -> host\n(source)" "$vd" vsock_source_mbps
    } >"$tmp/vsock.dat"
    {
        dev "1 B\nmedian" "$vd" vsock_rr1_rtt
        dev "1 B\np99" "$vd" vsock_rr1_rtt_p99
        dev "64 B\nmedian" "$vd" vsock_rr64_rtt
        dev "64 B\np99" "$vd" vsock_rr64_rtt_p99
    } >"$tmp/vsocklat.dat"
    gnuplot <<EOF
$common
set terminal pngcairo size 1400,650 font "DejaVu Sans,11" noenhanced
set output "$out/vsock.png"
set multiplot layout 1,2 title "virtio-vsock, hybrid Unix-socket protocol: vsockbench guest (ring-3 polling); no QEMU peer (no /dev/vhost-vsock on this host)\n$vd"
set style data histogram
set style histogram clustered gap 1.5
set boxwidth 0.9
unset key
set title "Throughput (MB/s)"
set yrange [0:*]
plot "$tmp/vsock.dat" using 2:xtic(1) lc rgb "#4a7ebb"
set title "Round-trip latency (us, log scale)"
set logscale y
set yrange [1:*]
plot "$tmp/vsocklat.dat" using 2:xtic(1) lc rgb "#4a7ebb"
unset multiplot
EOF
fi
# --- Snapshots ------------------------------------------------------------
{
    for m in 128 1024 4096; do
        pick femtovm "snap_${m}m_load" "femtovm $m MiB\nload (resume_vm)"
    done
    for m in 128 1024 4096; do
        pick femtovm-prepared "snap_${m}m_load" "femtovm $m MiB\nprepared load"
    done
    for m in 128 1024 4096; do
        pick femtovm "snap_${m}m_load_to_line" "femtovm $m MiB\nload -> count line"
    done
    pick qemu-microvm snap_128m_load_to_line "QEMU 128 MiB\nmigrate-incoming\n-> count line"
    pick femtovm snap_128m_exec_to_line "femtovm 128 MiB\nexec -> count line"
    pick qemu-microvm snap_128m_exec_to_line "QEMU 128 MiB\nexec -> count line"
} >"$tmp/snap.dat"
if [ -s "$tmp/snap.dat" ]; then
    gnuplot <<EOF
$common
set terminal pngcairo size 1700,650 font "DejaVu Sans,11" noenhanced
set output "$out/snapshot.png"
set title "Snapshot restore, count guest, 1 vCPU, fresh VMM per restore (median, bars p10-p90; log scale; dashed: 2 ms target)\n$subtitle"
set ylabel "ms (log scale)"
set logscale y
set yrange [0.5:200]
set xtics font ",9"
set boxwidth 0.6
unset key
plot "$tmp/snap.dat" using 0:2:xtic(1) with boxes lc rgb "#4a7ebb", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:(\$4*1.3):(sprintf("%.2f ms", \$2)) with labels, \
     2 with lines lc rgb "#cc3333" dt 2
EOF
fi
for f in coldstart memory density api blk net vsock snapshot; do
    [ ! -e "$out/$f.png" ] || echo "plot: $out/$f.png"
done
