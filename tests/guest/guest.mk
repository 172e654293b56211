# Test guests (tests/guest/README.md): freestanding x86_64 ELF kernels, their
# PVH variants, a bzImage of hello and the host tool that wraps it.
# Included from the top Makefile; `make guests` builds into $(BUILD)/guest/.

GUEST_DIR   := tests/guest
GUEST_OUT   := $(BUILD)/guest
GUEST_NAMES := hello smp irq fault stray echo blk blk-evil count kbd net
# Guest families kept in their own folders append to GUEST_NAMES (as
# <folder>/<name>, built to $(BUILD)/guest/<folder>/<name>.elf).
-include $(GUEST_DIR)/perf/perf.mk
-include $(GUEST_DIR)/vsock/vsock.mk
-include $(GUEST_DIR)/snap/snap.mk
# gcc on purpose (flags below are gcc's), whatever CC the monitor uses.
GUEST_CC      ?= gcc
GUEST_OBJCOPY ?= objcopy

GUEST_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow \
	-ffreestanding -nostdlib -nostdinc -fno-builtin \
	-isystem $(shell $(GUEST_CC) -print-file-name=include) \
	-isystem /usr/include/x86_64-linux-gnu -isystem /usr/include \
	-fno-pic -fno-pie -mcmodel=small -mno-red-zone -mgeneral-regs-only \
	-mno-sse -mno-mmx -mno-avx -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-tree-loop-distribute-patterns -I$(GUEST_DIR)/rt -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_DIR)/link.ld \
	-Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_RT_SRCS := $(wildcard $(GUEST_DIR)/rt/*.c) $(GUEST_DIR)/rt/entry.S \
	$(GUEST_DIR)/rt/trampoline.S
GUEST_RT_OBJS := $(patsubst $(GUEST_DIR)/%,$(GUEST_OUT)/obj/%.o,$(GUEST_RT_SRCS))
GUEST_PVH_OBJ := $(GUEST_OUT)/obj/rt/pvhnote.S.o
GUEST_ELFS    := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
GUEST_PVH     := $(GUEST_NAMES:%=$(GUEST_OUT)/%-pvh.elf)
GUEST_ALL     := $(GUEST_ELFS) $(GUEST_PVH) $(GUEST_OUT)/hello.bzImage

.PHONY: guests
guests: $(GUEST_ALL)

$(GUEST_OUT)/obj/%.c.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/obj/%.S.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_ELFS): $(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/%.c.o $(GUEST_RT_OBJS) \
		$(GUEST_DIR)/link.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

$(GUEST_PVH): $(GUEST_OUT)/%-pvh.elf: $(GUEST_OUT)/obj/%.c.o $(GUEST_RT_OBJS) \
		$(GUEST_PVH_OBJ) $(GUEST_DIR)/link.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# Guests with the virtio driver (vdrv.c) linked in.
GUEST_VDRV := blk blk-evil net
$(GUEST_OUT)/net.elf $(GUEST_OUT)/net-pvh.elf: $(GUEST_OUT)/obj/vq.c.o $(GUEST_OUT)/obj/inet.c.o
$(GUEST_VDRV:%=$(GUEST_OUT)/%.elf) $(GUEST_VDRV:%=$(GUEST_OUT)/%-pvh.elf): \
	$(GUEST_OUT)/obj/vdrv.c.o

# Host tool: the host compiler, but none of the monitor's CFLAGS.
$(GUEST_OUT)/mkbzimage: $(GUEST_DIR)/tools/mkbzimage.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

$(GUEST_OUT)/obj/setup.bin: $(GUEST_OUT)/obj/tools/setup16.S.o
	$(GUEST_OBJCOPY) -O binary -j .text $< $@

$(GUEST_OUT)/%.bzImage: $(GUEST_OUT)/%.elf $(GUEST_OUT)/mkbzimage \
		$(GUEST_OUT)/obj/setup.bin
	$(GUEST_OUT)/mkbzimage $< $(GUEST_OUT)/obj/setup.bin $@

-include $(shell find $(GUEST_OUT)/obj -name '*.d' 2>/dev/null)
