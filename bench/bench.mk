# Benchmarks (included by the top Makefile). `make bench` builds everything,
# then bench/run.sh measures cold start and idle RSS of femtovm, QEMU microvm
# and a bare KVM loader, femtovm's API latency and API-driven boot, and the
# density of idle VMs (femtovm and QEMU), and the device benchmarks
# (bench/blk.sh, bench/net.sh: virtio-blk and virtio-net with the ring-3
# perf guests, femtovm vs QEMU microvm; bench/vsock.sh: virtio-vsock,
# femtovm only), and snapshots (bench/snapshot.sh); results and charts go to
# bench/results/ (see bench/README.md). `make bench-full` is the same with
# 1000 femtovm VMs in the density run.

BENCH_CFLAGS := -O2 -Wall -Wextra -Werror -std=gnu11
BENCH_TOOLS  := $(BUILD)/bench/coldstart $(BUILD)/bench/bare_kvm \
		$(BUILD)/bench/api_latency $(BUILD)/bench/api_boot \
		$(BUILD)/bench/density $(BUILD)/bench/devrun \
		$(BUILD)/bench/blkhost $(BUILD)/bench/udpbench \
		$(BUILD)/bench/vsockhost $(BUILD)/bench/snapshot

.PHONY: bench bench-full bench-tools bench-plot bench-deps
# QEMU (the peer) and gnuplot (the charts) come from scripts/deps.sh bench.
bench-deps:
	@scripts/deps.sh bench

bench: bench-deps
	$(MAKE) all bench-tools
	bench/run.sh

bench-full: bench-deps
	$(MAKE) all bench-tools
	BENCH_DENSITY_N=$${BENCH_DENSITY_N:-1000} bench/run.sh

# Redraw bench/results/*.png from bench/results/results.csv.
bench-plot:
	bench/plot.sh

bench-tools: $(BENCH_TOOLS)

$(BUILD)/bench/api_latency $(BUILD)/bench/api_boot $(BUILD)/bench/density \
	$(BUILD)/bench/devrun $(BUILD)/bench/blkhost $(BUILD)/bench/udpbench \
	$(BUILD)/bench/vsockhost $(BUILD)/bench/snapshot: bench/benchlib.h

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<
