#!/usr/bin/env bash
# virtio-vsock benchmark (issue 5): the perf/vsockbench guest (data path in
# ring 3, polling, no interrupts) on femtovm, driven from the host through
# femtovm's hybrid Unix-socket protocol by bench/vsockhost (CONNECT <port>,
# OK <host_port>, then raw bytes). One boot, five connections, one after
# the other:
#   echo     BENCH_VSOCK_MIB MiB host -> guest -> host through the guest's
#            echo port (5000), written and read at once, every byte checked;
#   rr1      BENCH_VSOCK_RR_N round trips of 1 byte on one connection (after
#            100 untimed ones);
#   rr64     the same with 64 bytes;
#   sink     BENCH_VSOCK_MIB MiB host -> guest (port 5001, the guest drops
#            the bytes), until the guest's SHUTDOWN answers ours;
#   source   BENCH_VSOCK_MIB MiB guest -> host (port 5002).
# VMM CPU (all threads, schedstat) during each is reported too; it includes
# the guest's polling vCPU (~1 CPU). No QEMU row: QEMU's vhost-vsock-device
# needs /dev/vhost-vsock (and a host AF_VSOCK client); this script says so.
# Writes KEY value=V lines to OUTDIR/vsock_femtovm.out.
# Usage: bench/vsock.sh OUTDIR   (root). Env: BENCH_VSOCK_MIB (default 1024),
#        BENCH_VSOCK_RR_N (default 2000).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: vsock.sh OUTDIR}
mib=${BENCH_VSOCK_MIB:-1024}
rr_n=${BENCH_VSOCK_RR_N:-2000}
femtovm=$root/build/femtovm
host=$root/build/bench/vsockhost
guest=$root/build/guest/perf/vsockbench.elf
for f in "$femtovm" "$host" "$guest"; do
    [ -e "$f" ] || { echo "vsock.sh: missing $f (make all bench-tools)" >&2; exit 1; }
done
tmp=$(mktemp -d)
vpid=
cleanup() {
    [ -z "$vpid" ] || kill "$vpid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

if [ -e /dev/vhost-vsock ]; then
    echo "bench: vsock: /dev/vhost-vsock present, but no QEMU vhost-vsock run is implemented (it needs a host AF_VSOCK client)" >&2
else
    echo "bench: vsock: /dev/vhost-vsock absent: no QEMU vhost-vsock reference row" >&2
fi
echo "bench: vsock: femtovm (echo/sink/source $mib MiB, $rr_n round trips of 1 and 64 bytes)" >&2
uds=$tmp/v.sock
printf '{"boot-source":{"kernel_image_path":"%s","boot_args":"console=ttyS0 vsockbench.conns=5 vsockbench.ms=120000"},"machine-config":{"vcpu_count":1,"mem_size_mib":128},"vsock":{"guest_cid":3,"uds_path":"%s"}}\n' \
    "$guest" "$uds" >"$tmp/fvm.json"
"$femtovm" --no-api --config-file "$tmp/fvm.json" >"$tmp/guest.log" 2>"$tmp/fvm.err" &
vpid=$!
deadline=$((SECONDS + 30))
until grep -q '^vsockbench: ready' "$tmp/guest.log"; do
    [ $SECONDS -lt $deadline ] && kill -0 "$vpid" 2>/dev/null ||
        { cat "$tmp/guest.log" "$tmp/fvm.err" >&2; echo "vsock.sh: guest not ready" >&2; exit 1; }
    sleep 0.05
done
h() { timeout 60 "$host" "$@" -u "$uds" -P "$vpid" >>"$tmp/host.out" ||
        { cat "$tmp/guest.log" "$tmp/fvm.err" >&2; echo "vsock.sh: vsockhost $1 failed" >&2; exit 1; }; }
h echo -p 5000 -m "$mib"
h rr -p 5000 -n "$rr_n" -s 1
h rr -p 5000 -n "$rr_n" -s 64
h sink -p 5001 -m "$mib"
h source -p 5002 -m "$mib"
for _ in $(seq 1 100); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.05; done
wait "$vpid" || true
vpid=
grep -q '^vsockbench: done' "$tmp/guest.log" && ! grep -q 'FAIL\|exception' "$tmp/guest.log" ||
    { cat "$tmp/guest.log" "$tmp/fvm.err" >&2; echo "vsock.sh: guest run failed" >&2; exit 1; }
cp "$tmp/host.out" "$out/vsock_femtovm.out"
sed -n 's/^vsockbench: stats.*kicks=\([0-9]*\).*/vsock_kicks value=\1 n=1/p' "$tmp/guest.log" >>"$out/vsock_femtovm.out"
grep -E '^vsock_(echo|sink|source)_mbps|^vsock_rr[0-9]+_us' "$tmp/host.out" | sed 's/^/  femtovm /' >&2
grep -E '^vsockbench: (closed|stats)' "$tmp/guest.log" | sed 's/^/  /' >&2
