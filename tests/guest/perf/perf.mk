# Performance guests (tests/guest/perf/README.md), included by guest.mk:
# perf/blkbench, perf/netbench and perf/vsockbench, built to $(BUILD)/guest/perf/*.elf and
# *-pvh.elf. All link the virtio driver (vdrv.c); netbench also the split
# rings (vq.c) and Ethernet/IP helpers (inet.c), vsockbench the split rings
# and the vsock device layer (vsk.c). Their hot loops run in ring 3 through
# rt/user.c. perf/memtouch (a working set for the snapshot clone-memory
# benchmark) has no device and does not link vdrv.c.
GUEST_NAMES += perf/blkbench perf/netbench perf/vsockbench perf/memtouch

PERF_GUESTS := $(foreach g,blkbench netbench vsockbench,$(GUEST_OUT)/perf/$(g).elf $(GUEST_OUT)/perf/$(g)-pvh.elf)
$(PERF_GUESTS): $(GUEST_OUT)/obj/vdrv.c.o | $(GUEST_OUT)/perf/
$(foreach g,netbench netbench-pvh,$(GUEST_OUT)/perf/$(g).elf): $(GUEST_OUT)/obj/vq.c.o \
	$(GUEST_OUT)/obj/inet.c.o
$(foreach g,vsockbench vsockbench-pvh,$(GUEST_OUT)/perf/$(g).elf): $(GUEST_OUT)/obj/vq.c.o \
	$(GUEST_OUT)/obj/vsk.c.o
$(GUEST_OUT)/perf/memtouch.elf $(GUEST_OUT)/perf/memtouch-pvh.elf: | $(GUEST_OUT)/perf/
$(GUEST_OUT)/perf/:
	@mkdir -p $@
