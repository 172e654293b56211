# devparse.awk: turns `devrun` output of a perf guest into "KEY value=V n=N"
# lines (the format bench/run.sh reads). For each result line
# "<guest>: <phase> k=v k=v ..." it takes the preceding "<guest>: go ..."
# line's wall/CPU sample and prints, with PREFIX (-v prefix=...) and the
# phase's key (mode and qd for blkbench, the phase for netbench):
#   <key>_<field> value=<v>       every numeric k=v of the result line
#   <key>_cpu_ms / _wall_ms       CPU (utime+stime, all threads, including
#                                 the vCPU thread running the guest's polling
#                                 loop) and wall time of the VMM process
#                                 during the phase
#   <key>_cpu_us_per_op           the same per op (ops or pkts)
#   <key>_guest_ms, _vmm_ms, _vmm_us_per_op   the guest_time share and the
#                                 rest; guest_time is sampled by ticks and
#                                 unreliable under this workplace's KVM
#                                 (deltas can exceed cpu_ms): informative only
function kv(line, k,    m) {
    if (match(line, "[ |]" k "=[-0-9.]+")) {
        m = substr(line, RSTART + length(k) + 2, RLENGTH - length(k) - 2)
        return m
    }
    return ""
}
/: go / { gt = kv($0, "t_ms"); gc = kv($0, "cpu_ms"); gg = kv($0, "guest_ms"); next }
/^(blkbench|netbench): (randread|randwrite|read|write|tx|rx|echo) / {
    split($0, w, " ")
    phase = w[2]
    key = prefix phase
    q = kv($0, "qd"); b = kv($0, "bs")
    if (q != "") key = key (b == 4096 ? "4k" : (b == 65536 ? "64k" : "_" b)) "_qd" q
    line = $0
    sub(/ \|t_ms=.*/, "", line)
    n = split(line, f, " ")
    ops = kv(line, "ops"); if (ops == "") ops = kv(line, "pkts")
    if (ops == "") ops = kv(line, "udp") + kv(line, "icmp")
    for (i = 3; i <= n; i++) {
        if (split(f[i], p, "=") == 2 && p[2] ~ /^[-0-9.]+$/ && p[1] != "qd" && p[1] != "bs")
            printf "%s_%s value=%s n=%d\n", key, p[1], p[2], ops
    }
    cpu = kv($0, "cpu_ms") - gc; guest = kv($0, "guest_ms") - gg; wall = kv($0, "t_ms") - gt
    printf "%s_wall_ms value=%.1f n=%d\n", key, wall, ops
    printf "%s_cpu_ms value=%.0f n=%d\n%s_guest_ms value=%.0f n=%d\n%s_vmm_ms value=%.0f n=%d\n", \
        key, cpu, ops, key, guest, ops, key, cpu - guest, ops
    if (ops > 0) {
        printf "%s_cpu_us_per_op value=%.2f n=%d\n", key, cpu * 1000 / ops, ops
        printf "%s_vmm_us_per_op value=%.2f n=%d\n", key, (cpu - guest) * 1000 / ops, ops
    }
}
