# The snapshot test guest (tests/guest/snap/snap.c), included by guest.mk:
# built to $(BUILD)/guest/snap/snap.elf and snap-pvh.elf, with the virtio
# driver (vdrv.c), split rings (vq.c), ARP/ICMP (inet.c) and the vsock
# driver (vsk.c) linked in.
GUEST_NAMES += snap/snap

SNAP_GUESTS := $(GUEST_OUT)/snap/snap.elf $(GUEST_OUT)/snap/snap-pvh.elf
$(SNAP_GUESTS): $(foreach o,vdrv vq inet vsk,$(GUEST_OUT)/obj/$(o).c.o) | $(GUEST_OUT)/snap/
$(GUEST_OUT)/snap/:
	@mkdir -p $@
