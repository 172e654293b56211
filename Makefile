# femtovm build. `make` builds the monitor; see README.md for the rest.
# Targets: all, test, unit, integration, fuzz, bench, demo, deps, clean.

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
all: $(BUILD)/femtovm $(BUILD)/femtovm-jailer guests

$(BUILD)/femtovm: $(VMM_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The monitor under ASan+UBSan+LSan, for the API stress test.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJS := $(VMM_SRCS:%.c=$(BUILD)/asan/%.o)

$(BUILD)/femtovm-asan: $(ASAN_OBJS)
	$(CC) $(ASAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) $(ASAN_FLAGS) -c -o $@ $<

deps:
	@scripts/deps.sh test

include src/jail/jail.mk
include tests/guest/guest.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include bench/bench.mk

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration

integration: all $(BUILD)/femtovm-asan
	tests/integration/run.sh

demo:
	@scripts/deps.sh build
	$(MAKE) all
	scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(VMM_OBJS:.o=.d) $(ASAN_OBJS:.o=.d)
