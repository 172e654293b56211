# libFuzzer harnesses (clang) for the monitor's parsers of untrusted input:
# config JSON, kernel/initrd images, KVM exits and device register sequences.
#   make fuzz            build, then run each harness for FUZZ_TIME seconds
#   make fuzz-smoke      build, then run each harness over its seed corpus only
#   make fuzz-build      build only
# New corpus entries go to $(BUILD)/fuzz/corpus/<harness>; crashes to
# $(BUILD)/fuzz/crashes/ (copy reproducers into tests/fuzz/crashes/).

FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_ARGS    ?=
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -pthread \
                -Isrc -DFEMTOVM_VERSION=\"fuzz\" -Wall -MMD -MP
FUZZ_LDLIBS  := -lcjson -lm -pthread
# Every tests/fuzz/fuzz_<name>.c is a harness, with seeds in corpus/fuzz_<name>/.
FUZZ_HARNESSES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/%)
FUZZ_LIB_OBJS := $(VMM_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@rc=0; for h in $(FUZZ_HARNESSES); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$h $(FUZZ_DIR)/crashes; \
		echo "== $$h: $(FUZZ_TIME) s"; \
		$(FUZZ_DIR)/$$h -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$h- $(FUZZ_ARGS) \
			$(FUZZ_DIR)/corpus/$$h tests/fuzz/corpus/$$h || { rc=1; echo "== $$h: CRASH"; }; \
	done; exit $$rc

fuzz-smoke: $(FUZZ_BINS)
	@for h in $(FUZZ_HARNESSES); do \
		[ -d tests/fuzz/corpus/$$h ] || { echo "== $$h: no seed corpus"; exit 1; }; \
		$(FUZZ_DIR)/$$h $(FUZZ_ARGS) tests/fuzz/corpus/$$h/* >$(FUZZ_DIR)/$$h.smoke.log 2>&1 \
			|| { cat $(FUZZ_DIR)/$$h.smoke.log; echo "== $$h: FAILED"; exit 1; }; \
		echo "== $$h: $$(grep -c '^Executed' $(FUZZ_DIR)/$$h.smoke.log) seed inputs OK"; \
	done

# Keep objects: make would otherwise delete them as intermediates of the
# pattern rule below and rebuild everything on the next run.
.SECONDARY: $(FUZZ_LIB_OBJS) $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/obj/tests/fuzz/%.o)

# Harness objects: instrumented for coverage and linked with libFuzzer's main.
$(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(FUZZ_LDLIBS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/obj/tests/fuzz/%.d)
