# Unit tests: every monitor source except main.c plus tests/unit/*.c, built
# with ASan + UBSan into one Criterion binary and run. No /dev/kvm needed.
# `make unit` builds and runs; UNIT_ARGS passes options to Criterion
# (e.g. UNIT_ARGS='--filter=bus/*' or UNIT_ARGS=--verbose).

UNIT_DIR    := $(BUILD)/unit
UNIT_BIN    := $(UNIT_DIR)/femtovm-unit
UNIT_CFLAGS := -std=gnu11 -O1 -g -fsanitize=address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer -pthread \
               -Isrc -DFEMTOVM_VERSION=\"test\" -Wall -Wextra -Werror -MMD -MP
UNIT_LDLIBS := -lcriterion -lcjson -lm -pthread
UNIT_SRCS   := $(VMM_LIB_SRCS) $(wildcard tests/unit/*.c)
UNIT_OBJS   := $(UNIT_SRCS:%.c=$(UNIT_DIR)/obj/%.o)
UNIT_ARGS   ?=

# Criterion reports a test that leaks as passing (LeakSanitizer runs at the
# worker's exit, after the result is sent), so the log is also scanned for
# sanitizer reports and any one fails the target. --timeout stops a hung
# test from hanging the whole run (it is reported as crashed).
.PHONY: unit unit-build
unit: $(UNIT_BIN)
	@rc=0; ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(UNIT_BIN) --timeout=60 $(UNIT_ARGS) >$(UNIT_DIR)/unit.log 2>&1 || rc=$$?; \
	cat $(UNIT_DIR)/unit.log; \
	if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error:' $(UNIT_DIR)/unit.log; then \
		echo "unit: sanitizer report above (full log: $(UNIT_DIR)/unit.log)"; rc=1; fi; \
	exit $$rc

unit-build: $(UNIT_BIN)

$(UNIT_BIN): $(UNIT_OBJS)
	$(CC) -fsanitize=address,undefined -o $@ $^ $(UNIT_LDLIBS)

$(UNIT_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

-include $(UNIT_OBJS:.o=.d)
