# femtovm build. `make` builds the monitor; see README.md for the rest.
# Targets: all, test, unit, integration, fuzz, bench, demo, deps, clean.

# Keep the test summary the last line of `make test` (no "Leaving directory").
MAKEFLAGS += --no-print-directory

CC      ?= gcc
BUILD   := build
VERSION := 0.1.0

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) $(HARDEN) -pthread -MMD -MP \
           -Isrc -DFEMTOVM_VERSION=\"$(VERSION)\"
LDFLAGS += -pie -Wl,-z,relro,-z,now -pthread
LDLIBS  := -lcjson

VMM_SRCS := $(wildcard src/vmm/*.c src/virtio/*.c src/api/*.c src/snapshot/*.c)
VMM_LIB_SRCS := $(filter-out src/vmm/main.c,$(VMM_SRCS))
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/obj/%.o)

.PHONY: all test unit integration fuzz bench demo deps clean guests
all: $(BUILD)/femtovm $(BUILD)/femtovm-jailer tools guests

# Seccomp: the allowlists (src/jail/seccomp_rules.c) are compiled to BPF at
# build time by seccomp-gen; only the monitor binary links the loader.
SECCOMP_GEN := $(BUILD)/gen/seccomp_bpf.c
SECCOMP_OBJ := $(BUILD)/obj/src/jail/seccomp.o

$(BUILD)/seccomp-gen: src/jail/seccomp_gen.c src/jail/seccomp_rules.c src/jail/seccomp_rules.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc -o $@ $(filter %.c,$^) -lseccomp

$(SECCOMP_GEN): $(BUILD)/seccomp-gen
	@mkdir -p $(dir $@)
	$< $@

$(SECCOMP_OBJ): src/jail/seccomp.c $(SECCOMP_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD)/gen -c -o $@ $<

$(BUILD)/femtovm: $(VMM_OBJS) $(SECCOMP_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test-only build whose filters make a forbidden syscall on request
# (FEMTOVM_SECCOMP_SELFTEST=vmm|vcpu), to prove they kill the process.
$(BUILD)/obj/seccomp-selftest.o: src/jail/seccomp.c $(SECCOMP_GEN)
	$(CC) $(CFLAGS) -I$(BUILD)/gen -DFEMTOVM_SECCOMP_SELFTEST -c -o $@ $<

$(BUILD)/femtovm-seccomp-test: $(VMM_OBJS) $(BUILD)/obj/seccomp-selftest.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The monitor under ASan+UBSan+LSan, for the API stress test.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJS := $(VMM_SRCS:%.c=$(BUILD)/asan/%.o)

$(BUILD)/femtovm-asan: $(ASAN_OBJS) $(BUILD)/asan/src/jail/seccomp.o
	$(CC) $(ASAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/src/jail/seccomp.o: src/jail/seccomp.c $(SECCOMP_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(ASAN_FLAGS) -I$(BUILD)/gen -c -o $@ $<

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(ASAN_FLAGS) -c -o $@ $<

deps:
	@scripts/deps.sh test

include src/jail/jail.mk
# Host tools next to the monitor (src/tools/<name>.mk each add to TOOLS).
TOOLS :=
-include $(wildcard src/tools/*.mk)
.PHONY: tools
tools: $(TOOLS)
include resources/guest.mk
include tests/guest/guest.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include bench/bench.mk

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration

integration: all $(BUILD)/femtovm-asan $(BUILD)/femtovm-seccomp-test
	tests/integration/run.sh

demo:
	@scripts/deps.sh test
	$(MAKE) all
	scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(VMM_OBJS:.o=.d) $(ASAN_OBJS:.o=.d)
