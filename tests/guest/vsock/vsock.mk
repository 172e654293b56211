# The vsock test guest (tests/guest/vsock/vsock.c), included by guest.mk:
# built to $(BUILD)/guest/vsock/vsock.elf and vsock-pvh.elf, with the
# virtio driver (vdrv.c), split rings (vq.c) and the vsock driver (vsk.c,
# shared with the snap guest) linked in.
GUEST_NAMES += vsock/vsock

VSOCK_GUESTS := $(GUEST_OUT)/vsock/vsock.elf $(GUEST_OUT)/vsock/vsock-pvh.elf
$(VSOCK_GUESTS): $(foreach o,vdrv vq vsk,$(GUEST_OUT)/obj/$(o).c.o) | $(GUEST_OUT)/vsock/
$(GUEST_OUT)/vsock/:
	@mkdir -p $@
