# Benchmarks (included by the top Makefile). `make bench` builds everything,
# then bench/run.sh measures cold start and idle RSS of femtovm, QEMU microvm
# and a bare KVM loader; results go to bench/results/ (see bench/README.md).

BENCH_CFLAGS := -O2 -Wall -Wextra -Werror -std=gnu11
BENCH_TOOLS  := $(BUILD)/bench/coldstart $(BUILD)/bench/bare_kvm

.PHONY: bench bench-tools
bench: all bench-tools
	bench/run.sh

bench-tools: $(BENCH_TOOLS)

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<
